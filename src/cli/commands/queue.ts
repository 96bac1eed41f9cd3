// mom queue create|ls|rm|purge|stats.
import { MAX_RECEIVES_LIMIT, MAX_VISIBILITY_TIMEOUT_MS } from '../../broker/limits.js';
import { intOption, stringOption } from '../args.js';
import { table } from '../output.js';
import type { Command } from '../command.js';
import type { QueueView } from '../../client/index.js';

const queueRow = (q: QueueView): (string | number)[] => [q.name, q.owner, q.stats.ready, q.stats.inflight, q.stats.delayed];
const QUEUE_HEADER = ['NAME', 'OWNER', 'READY', 'INFLIGHT', 'DELAYED'];

export const queueCreate: Command = {
  words: ['queue', 'create'],
  usage: 'NAME [options]',
  summary: 'create a queue',
  help: `  --visibility-timeout MS   lease of a received message (default 30000)
  --max-receives N          deliveries before a message moves to the dead-letter queue
  --dead-letter-queue NAME  where it moves
  --retention MS            how long a message is kept (default 4 days)`,
  options: {
    'visibility-timeout': { type: 'string' },
    'max-receives': { type: 'string' },
    'dead-letter-queue': { type: 'string' },
    retention: { type: 'string' },
  },
  args: [1, 1],
  async run(ctx) {
    const q = await ctx.client().createQueue({
      name: ctx.args[0],
      visibilityTimeoutMs: intOption(ctx.values, 'visibility-timeout', 0, MAX_VISIBILITY_TIMEOUT_MS),
      maxReceives: intOption(ctx.values, 'max-receives', 1, MAX_RECEIVES_LIMIT),
      deadLetterQueue: stringOption(ctx.values, 'dead-letter-queue'),
      retentionMs: intOption(ctx.values, 'retention', 1, Number.MAX_SAFE_INTEGER),
    });
    ctx.out.result(q, () => `created queue ${q.name}`);
  },
};

export const queueList: Command = {
  words: ['queue', 'ls'],
  usage: '',
  summary: 'list the queues you own or are granted',
  args: [0, 0],
  async run(ctx) {
    const queues = await ctx.client().listQueues({ signal: ctx.signal });
    ctx.out.result({ queues }, () => table(QUEUE_HEADER, queues.map(queueRow)));
  },
};

export const queueRemove: Command = {
  words: ['queue', 'rm'],
  usage: 'NAME',
  summary: 'delete a queue and its messages (owner)',
  args: [1, 1],
  async run(ctx) {
    await ctx.client().queue(ctx.args[0]).delete();
    ctx.out.result({ deleted: ctx.args[0] }, () => `deleted queue ${ctx.args[0]}`);
  },
};

export const queuePurge: Command = {
  words: ['queue', 'purge'],
  usage: 'NAME',
  summary: 'drop every message of a queue (owner)',
  args: [1, 1],
  async run(ctx) {
    const out = await ctx.client().queue(ctx.args[0]).purge();
    ctx.out.result(out, () => `purged ${out.purged} messages`);
  },
};

export const queueStats: Command = {
  words: ['queue', 'stats'],
  usage: 'NAME',
  summary: 'a queue, its settings and its message counts',
  args: [1, 1],
  async run(ctx) {
    const q = await ctx.client().queue(ctx.args[0]).get({ signal: ctx.signal });
    ctx.out.result(q, () => [
      table(QUEUE_HEADER, [queueRow(q)]),
      `visibility timeout ${q.visibilityTimeoutMs} ms, retention ${q.retentionMs} ms, max receives ${q.maxReceives ?? '-'}, dead-letter queue ${q.deadLetterQueue ?? '-'}, created ${q.createdAt}`,
    ].join('\n'));
  },
};
