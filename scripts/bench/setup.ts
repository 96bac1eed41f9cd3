// Before the scenarios: every node ready, a user registered and logged in, and a
// warm-up so the first scenario does not pay for JIT compilation and connection setup.
import { LeaderPool } from './client.js';
import { BODY_1KIB, ensureQueue, expectCreated, purge, sendBody, type BenchContext } from './context.js';
import { closedLoop } from './load.js';
import { waitReady } from './scenarios/cluster-wait.js';
import { formatNumber } from './table.js';

export const BENCH_USER = { username: 'bench', password: 'bench-password-1' };

export async function prepareCluster(ctx: BenchContext): Promise<void> {
  await Promise.all(ctx.cluster.nodeIds.map((id) => waitReady(ctx, id, 60_000, 50)));
  await ctx.link.findLeader();
  await ctx.link.json('POST', '/v1/auth/register', BENCH_USER, [409]);
  const login = await ctx.link.json<{ token: string }>('POST', '/v1/auth/login', BENCH_USER);
  ctx.link.token = login.token;
}

export async function warmUp(ctx: BenchContext): Promise<void> {
  const queue = 'bench-warmup';
  await ensureQueue(ctx, queue);
  const pool = new LeaderPool(ctx.link, { connections: 64, pipelining: 4 });
  const body = sendBody(BODY_1KIB);
  const start = performance.now();
  const durationMs = ctx.options.durations.warmupMs;
  let messages = 0;
  const bar = ctx.progress.start('warm-up', () => (performance.now() - start) / durationMs,
    () => `${formatNumber((messages * 1000) / Math.max(1, performance.now() - start))} msg/s`);
  try {
    const receiveBody = JSON.stringify({ max: 10, waitMs: 0 });
    const result = await closedLoop({
      concurrency: 128,
      durationMs,
      op: async (worker) => {
        if (worker % 4 === 3) {
          const got = await pool.post(`/v1/queues/${queue}/receive`, receiveBody);
          expectCreated(got.status, got.text, 'receive');
          const handles = (JSON.parse(got.text) as { messages: Array<{ receiptHandle: string }> }).messages.map((m) => m.receiptHandle);
          if (handles.length > 0) {
            const acked = await pool.post(`/v1/queues/${queue}/ack`, JSON.stringify({ receiptHandles: handles }));
            expectCreated(acked.status, acked.text, 'ack');
          }
          return 0;
        }
        const reply = await pool.post(`/v1/queues/${queue}/messages`, body);
        expectCreated(reply.status, reply.text, 'send');
        messages++;
        return 1;
      },
    });
    bar.done(`${formatNumber(result.rate)} msg/s, ${result.errors} errors${result.errorSamples.length > 0 ? ` (${result.errorSamples[0]})` : ''}`);
    if (result.operations === 0) throw new Error(`warm-up: no request succeeded (${result.errorSamples[0] ?? 'no error recorded'})`);
  } finally {
    await pool.close();
  }
  await purge(ctx, queue);
}
