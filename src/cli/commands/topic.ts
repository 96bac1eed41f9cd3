// mom topic create|ls|rm and mom sub create|ls|rm (publish and sub receive live with
// send and receive).
import { MAX_RECEIVES_LIMIT, MAX_VISIBILITY_TIMEOUT_MS } from '../../broker/limits.js';
import { intOption, stringOption } from '../args.js';
import { table } from '../output.js';
import type { Command } from '../command.js';

export const topicCreate: Command = {
  words: ['topic', 'create'],
  usage: 'NAME [--public] [--retention MS]',
  summary: 'create a topic',
  help: `  --public          anyone may subscribe
  --retention MS    how long published messages are kept (default 7 days)`,
  options: { public: { type: 'boolean' }, retention: { type: 'string' } },
  args: [1, 1],
  async run(ctx) {
    const t = await ctx.client().createTopic({
      name: ctx.args[0],
      public: ctx.values.public === true,
      retentionMs: intOption(ctx.values, 'retention', 1, Number.MAX_SAFE_INTEGER),
    });
    ctx.out.result(t, () => `created topic ${t.name}`);
  },
};

export const topicList: Command = {
  words: ['topic', 'ls'],
  usage: '',
  summary: 'list topics',
  args: [0, 0],
  async run(ctx) {
    const topics = await ctx.client().listTopics({ signal: ctx.signal });
    ctx.out.result({ topics }, () => table(['NAME', 'OWNER', 'PUBLIC', 'SUBSCRIPTIONS'], topics.map((t) => [t.name, t.owner, t.public ? 'yes' : 'no', t.stats.subscriptions])));
  },
};

export const topicRemove: Command = {
  words: ['topic', 'rm'],
  usage: 'NAME',
  summary: 'delete a topic and its subscriptions (owner)',
  args: [1, 1],
  async run(ctx) {
    await ctx.client().topic(ctx.args[0]).delete();
    ctx.out.result({ deleted: ctx.args[0] }, () => `deleted topic ${ctx.args[0]}`);
  },
};

export const subCreate: Command = {
  words: ['sub', 'create'],
  usage: 'TOPIC NAME [options]',
  summary: 'subscribe: a durable queue fed with every later message of the topic',
  help: `  --ack-timeout MS          lease of a received message (default 30000)
  --max-deliveries N        deliveries before a message moves to the dead-letter queue
  --dead-letter-queue NAME  where it moves`,
  options: { 'ack-timeout': { type: 'string' }, 'max-deliveries': { type: 'string' }, 'dead-letter-queue': { type: 'string' } },
  args: [2, 2],
  async run(ctx) {
    const s = await ctx.client().topic(ctx.args[0]).createSubscription({
      name: ctx.args[1],
      ackTimeoutMs: intOption(ctx.values, 'ack-timeout', 0, MAX_VISIBILITY_TIMEOUT_MS),
      maxDeliveries: intOption(ctx.values, 'max-deliveries', 1, MAX_RECEIVES_LIMIT),
      deadLetterQueue: stringOption(ctx.values, 'dead-letter-queue'),
    });
    ctx.out.result(s, () => `created subscription ${s.topic}/${s.name}`);
  },
};

export const subList: Command = {
  words: ['sub', 'ls'],
  usage: 'TOPIC',
  summary: "your subscriptions of a topic",
  args: [1, 1],
  async run(ctx) {
    const subs = await ctx.client().topic(ctx.args[0]).subscriptions({ signal: ctx.signal });
    ctx.out.result({ subscriptions: subs }, () => table(['NAME', 'TOPIC', 'READY', 'INFLIGHT', 'DELAYED'], subs.map((s) => [s.name, s.topic, s.stats.ready, s.stats.inflight, s.stats.delayed])));
  },
};

export const subRemove: Command = {
  words: ['sub', 'rm'],
  usage: 'TOPIC NAME',
  summary: 'delete a subscription',
  args: [2, 2],
  async run(ctx) {
    await ctx.client().topic(ctx.args[0]).subscription(ctx.args[1]).delete();
    ctx.out.result({ deleted: `${ctx.args[0]}/${ctx.args[1]}` }, () => `deleted subscription ${ctx.args[0]}/${ctx.args[1]}`);
  },
};
