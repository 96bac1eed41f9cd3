// Scenario 5: producers and long-polling consumers on one queue.
import { ensureQueue, purge } from '../context.js';
import type { Scenario } from '../scenario.js';
import { runFlow, type FlowShape } from './flow.js';

const QUEUE = 'bench-e2e';

const shape = (durationMs: number): FlowShape => ({
  sendPath: `/v1/queues/${QUEUE}/messages`,
  targets: [{ receive: `/v1/queues/${QUEUE}/receive`, ack: `/v1/queues/${QUEUE}/ack` }],
  producers: 32,
  consumers: 16,
  max: 10,
  waitMs: 500,
  fanout: 1,
  window: 2000,
  durationMs,
});

export const endToEnd: Scenario = {
  id: 5,
  name: 'endToEnd',
  cpuUnit: 'delivered',
  title: 'end-to-end, 32 producers, 16 long-polling consumers',
  metrics: [
    { key: 'deliveryRate', label: 'delivered/s', unit: 'msg/s' },
    { key: 'p50', label: 'p50 send-to-receive', unit: 'ms' },
    { key: 'p99', label: 'p99 send-to-receive', unit: 'ms' },
  ],
  config: (ctx) => ({ queue: QUEUE, ...shape(ctx.options.durations.endToEndMs), targets: undefined }),
  setup: (ctx) => ensureQueue(ctx, QUEUE),
  async run(ctx, run, runs) {
    try {
      return await runFlow(ctx, shape(ctx.options.durations.endToEndMs), `run ${run + 1}/${runs}`);
    } finally {
      await purge(ctx, QUEUE);
    }
  },
};
