// Scenario 6: publish to a topic with 4 subscriptions; each subscription has its own
// long-polling consumers. The figure is deliveries (messages x subscriptions) per second.
import type { BenchContext } from '../context.js';
import type { Scenario } from '../scenario.js';
import { runFlow, type FlowShape } from './flow.js';

const TOPIC = 'bench-fanout';
const SUBSCRIPTIONS = ['s1', 's2', 's3', 's4'];

const shape = (durationMs: number): FlowShape => ({
  sendPath: `/v1/topics/${TOPIC}/messages`,
  targets: SUBSCRIPTIONS.map((s) => ({
    receive: `/v1/topics/${TOPIC}/subscriptions/${s}/receive`,
    ack: `/v1/topics/${TOPIC}/subscriptions/${s}/ack`,
  })),
  producers: 16,
  consumers: 16,
  max: 10,
  waitMs: 500,
  fanout: SUBSCRIPTIONS.length,
  window: 4000,
  durationMs,
});

async function recreateTopic(ctx: BenchContext): Promise<void> {
  // Deleting the topic drops its subscriptions and whatever they still hold.
  await ctx.link.json('DELETE', `/v1/topics/${TOPIC}`, undefined, [404]);
  await ctx.link.json('POST', '/v1/topics', { name: TOPIC });
  for (const name of SUBSCRIPTIONS) await ctx.link.json('POST', `/v1/topics/${TOPIC}/subscriptions`, { name });
}

export const fanout: Scenario = {
  id: 6,
  name: 'fanout',
  cpuUnit: 'delivered',
  title: `topic fan-out to ${SUBSCRIPTIONS.length} subscriptions`,
  metrics: [
    { key: 'deliveryRate', label: 'deliveries/s', unit: 'msg/s' },
    { key: 'sendRate', label: 'published/s', unit: 'msg/s' },
    { key: 'p99', label: 'p99 publish-to-receive', unit: 'ms' },
  ],
  config: (ctx) => ({ topic: TOPIC, subscriptions: SUBSCRIPTIONS, ...shape(ctx.options.durations.fanoutMs), targets: undefined }),
  async run(ctx, run, runs) {
    await recreateTopic(ctx);
    try {
      return await runFlow(ctx, shape(ctx.options.durations.fanoutMs), `run ${run + 1}/${runs}`);
    } finally {
      await ctx.link.json('DELETE', `/v1/topics/${TOPIC}`, undefined, [404]);
    }
  },
};
