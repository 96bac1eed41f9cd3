// Filling a queue before a measurement (not itself measured): batched sends with many
// requests in flight, the fastest way to queue many messages.
import { LeaderPool } from '../client.js';
import { batchBody, expectCreated, type BenchContext } from '../context.js';
import { formatNumber } from '../table.js';

const UNAVAILABLE_MS = 60_000;

export interface FillOptions {
  queue: string;
  messages: number;
  /** The body of every message, or of message n (0-based, in send order) when bodyAt is given. */
  body?: string;
  bodyAt?: (n: number) => string;
  perRequest?: number;
  inFlight?: number;
  label?: string;
}

/** Sends exactly `messages` messages; returns the elapsed ms. */
export async function fillQueue(ctx: BenchContext, opts: FillOptions): Promise<number> {
  const perRequest = opts.perRequest ?? 100;
  const inFlight = opts.inFlight ?? 32;
  const path = `/v1/queues/${opts.queue}/messages`;
  const { bodyAt } = opts;
  const constant = opts.body ?? '';
  const fullBatch = bodyAt === undefined ? batchBody(constant, perRequest) : '';
  const pool = new LeaderPool(ctx.link, { connections: inFlight, pipelining: 1 });
  let claimed = 0;
  let batchNo = 0;
  const fillId = `${opts.queue}-${Date.now().toString(36)}`;
  let sent = 0;
  let overloaded = 0;
  const start = performance.now();
  const bar = ctx.progress.start(opts.label ?? `fill ${formatNumber(opts.messages)} messages`, () => sent / opts.messages,
    () => `${formatNumber((sent * 1000) / Math.max(1, performance.now() - start))} msg/s`);
  const worker = async () => {
    while (claimed < opts.messages) {
      const n = Math.min(perRequest, opts.messages - claimed);
      const first = claimed;
      claimed += n;
      const body = bodyAt !== undefined
        ? JSON.stringify({ messages: Array.from({ length: n }, (_, k) => ({ body: bodyAt(first + k) })) })
        : n === perRequest ? fullBatch : batchBody(constant, n);
      // A retry after a leader change must not queue the batch twice.
      const key = `fill-${fillId}-${batchNo++}`;
      // The cluster may stall for a while (elections, a large snapshot): the fill waits
      // up to UNAVAILABLE_MS for it before the scenario fails.
      const giveUpAt = performance.now() + UNAVAILABLE_MS;
      for (;;) {
        let reply;
        try {
          reply = await pool.post(path, body, 30_000, key);
        } catch (err) {
          if (performance.now() > giveUpAt) throw err;
          await ctx.link.findLeader().catch(() => undefined);
          continue;
        }
        // Overload or a leader change (429/503) during a fill is retried, never counted twice.
        if ((reply.status === 429 || reply.status === 503) && performance.now() < giveUpAt) {
          overloaded++;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        expectCreated(reply.status, reply.text, 'fill');
        break;
      }
      sent += n;
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    await pool.close();
  }
  const elapsed = performance.now() - start;
  bar.done(`filled ${formatNumber(sent)} in ${(elapsed / 1000).toFixed(1)} s${overloaded > 0 ? ` (${overloaded} overload answers waited out)` : ''}`);
  return elapsed;
}
