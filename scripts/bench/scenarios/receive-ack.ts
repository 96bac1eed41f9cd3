// Scenario 4: drain a queue of 100,000 1 KiB messages with 16 consumers, each receiving
// up to 10 at a time and acknowledging them. BENCH_ACK picks how a consumer acknowledges:
// - `combined` (the default): one request per batch, a receive that carries the previous
//   batch's receipt handles (docs/API.md, Receive and acknowledge in one request), as an
//   AMQP consumer acks without a request of its own; after its last batch a consumer
//   acks what it still holds with a plain ack, so that the count is exact.
// - `separate`: a receive and an ack request per batch, the ack in flight while the
//   consumer receives the next batch (at most one per consumer; every answer checked).
// - `wait`: as `separate`, but each consumer waits for its ack's answer before the next
//   receive.
import { LeaderPool } from '../client.js';
import { BODY_1KIB, ensureQueue, expectCreated, measured, purge, raftLine, sleep } from '../context.js';
import { closedLoop, type LoadState } from '../load.js';
import type { Scenario } from '../scenario.js';
import { formatCount, formatNumber } from '../table.js';
import { fillQueue } from './fill.js';

const QUEUE = 'bench-drain';
const CONSUMERS = 16;
const MAX = 10;
type AckMode = 'combined' | 'separate' | 'wait';
const ACK_MODES: readonly AckMode[] = ['combined', 'separate', 'wait'];
const ACK_MODE_TEXT: Record<AckMode, string> = {
  combined: 'carried by the next receive (one request per batch)',
  separate: 'own request, in flight during the next receive',
  wait: 'own request, awaited before the next receive',
};

function ackMode(): AckMode {
  const mode = process.env.BENCH_ACK ?? 'combined';
  if (!(ACK_MODES as readonly string[]).includes(mode)) throw new Error(`BENCH_ACK must be one of ${ACK_MODES.join(', ')}, not ${mode}`);
  return mode as AckMode;
}
const ACKED_FIELD = ',"acked":';
const HANDLE_FIELD = '"receiptHandle":"';

/**
 * The receipt handles of a receive answer without parsing its 10 KiB of bodies: the bench
 * pays for its own JSON on the same two cores. `"receiptHandle":"` cannot occur inside a
 * JSON string (its quotes would be escaped), and the bench's messages have no attributes
 * that could be named so; a handle with an escape in it falls back to JSON.parse.
 */
export function receiptHandlesOf(text: string): string[] {
  const out: string[] = [];
  for (let at = text.indexOf(HANDLE_FIELD); at >= 0; at = text.indexOf(HANDLE_FIELD, at)) {
    const start = at + HANDLE_FIELD.length;
    const end = text.indexOf('"', start);
    const handle = text.slice(start, end);
    if (end < 0 || handle.includes('\\')) return (JSON.parse(text) as Received).messages.map((m) => m.receiptHandle);
    out.push(handle);
    at = end;
  }
  return out;
}

interface Received {
  messages: Array<{ receiptHandle: string }>;
}

/** `acked` of a combined answer, which the server writes after the messages (read from the
 *  end: no body can hold it there). */
export function ackedOf(text: string): number {
  const at = text.lastIndexOf(ACKED_FIELD);
  const acked = at < 0 ? NaN : Number.parseInt(text.slice(at + ACKED_FIELD.length), 10);
  if (!Number.isSafeInteger(acked)) throw new Error(`receive answer without acked: ${text.slice(-200)}`);
  return acked;
}

export const receiveAck: Scenario = {
  id: 4,
  name: 'receiveAck',
  cpuUnit: 'drained',
  title: (ctx) => `receive+ack: drain ${formatCount(ctx.options.drainMessages)}, max=${MAX}, ${CONSUMERS} consumers, acks ${ackMode()}`,
  metrics: [
    { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'receiveAck.rate' },
    { key: 'p50', label: 'p50 (receive+ack)', unit: 'ms' },
  ],
  config: (ctx) => ({ queue: QUEUE, messages: ctx.options.drainMessages, consumers: CONSUMERS, max: MAX, bodyBytes: BODY_1KIB.length, ackMode: ackMode(), acks: ACK_MODE_TEXT[ackMode()] }),
  setup: (ctx) => ensureQueue(ctx, QUEUE),
  async run(ctx, run, runs) {
    const total = ctx.options.drainMessages;
    await purge(ctx, QUEUE);
    const fillMs = await fillQueue(ctx, { queue: QUEUE, messages: total, body: BODY_1KIB, label: `run ${run + 1}/${runs}: fill` });
    const pool = new LeaderPool(ctx.link, { connections: CONSUMERS, pipelining: 1 });
    const receiveBody = JSON.stringify({ max: MAX, waitMs: 0 });
    const state: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
    let emptyReceives = 0;
    const mode = ackMode();
    ctx.progress.log(`    acks: ${mode}, ${ACK_MODE_TEXT[mode]}`);
    const pendingAcks = new Array<Promise<number> | undefined>(CONSUMERS);
    /** combined: the handles each consumer acks with its next receive. */
    const held = Array.from({ length: CONSUMERS }, (): string[] => []);
    // Acks answered with an error (e.g. a leader change) may still have been applied, so
    // the drain also ends when the queue reports nothing ready, leased or delayed.
    let drained = false;
    let lastCheck = 0;
    const checkDrained = async () => {
      if (performance.now() - lastCheck < 250) return;
      lastCheck = performance.now();
      const q = await ctx.link.json<{ stats: { ready: number; inflight: number; delayed: number } }>('GET', `/v1/queues/${QUEUE}`);
      if (q.stats.ready + q.stats.inflight + q.stats.delayed === 0) drained = true;
    };
    const bar = ctx.progress.start(`run ${run + 1}/${runs}: drain`, () => state.messages / total,
      () => `${formatNumber((state.messages * 1000) / Math.max(1, performance.now() - state.startedAt))} msg/s`);
    try {
      const outcome = await measured(ctx, async () => {
        const result = await closedLoop({
          concurrency: CONSUMERS,
          durationMs: 600_000,
          done: () => drained || state.messages >= total,
          op: async (worker) => {
            if (mode === 'combined') {
              const body = held[worker].length === 0 ? receiveBody : JSON.stringify({ max: MAX, waitMs: 0, ackReceiptHandles: held[worker] });
              const got = await pool.post(`/v1/queues/${QUEUE}/receive`, body);
              expectCreated(got.status, got.text, 'receive');
              const acked = held[worker].length === 0 ? 0 : ackedOf(got.text);
              // Kept until a request that carried them succeeded: a failed one may not
              // have acked them, and acking again is harmless (they come back unknown).
              held[worker] = receiptHandlesOf(got.text);
              if (acked > 0 || held[worker].length > 0) return acked;
              emptyReceives++;
              await checkDrained();
              await sleep(2);
              return 0;
            }
            const got = await pool.post(`/v1/queues/${QUEUE}/receive`, receiveBody);
            expectCreated(got.status, got.text, 'receive');
            const handles = receiptHandlesOf(got.text);
            const previous = pendingAcks[worker];
            pendingAcks[worker] = undefined;
            if (handles.length === 0) {
              const acked = previous === undefined ? 0 : await previous;
              if (acked > 0) return acked;
              // The rest is leased by other consumers; their acks will finish the drain.
              emptyReceives++;
              await checkDrained();
              await sleep(2);
              return 0;
            }
            const ack = pool.post(`/v1/queues/${QUEUE}/ack`, JSON.stringify({ receiptHandles: handles })).then((acked) => {
              expectCreated(acked.status, acked.text, 'ack');
              return (JSON.parse(acked.text) as { acked: number }).acked;
            });
            if (mode === 'wait') return (previous === undefined ? 0 : await previous) + await ack;
            // Awaited on the consumer's next turn; marked handled now so that a failure
            // meanwhile is not an unhandled rejection.
            ack.catch(() => undefined);
            pendingAcks[worker] = ack;
            return previous === undefined ? 0 : await previous;
          },
        }, state);
        // Acks still in flight when the loop stopped, and handles still held.
        for (const ack of pendingAcks) if (ack !== undefined) result.messages += await ack.catch(() => 0);
        for (const handles of held) {
          if (handles.length === 0) continue;
          const acked = await pool.post(`/v1/queues/${QUEUE}/ack`, JSON.stringify({ receiptHandles: handles }));
          expectCreated(acked.status, acked.text, 'ack');
          result.messages += (JSON.parse(acked.text) as { acked: number }).acked;
        }
        const removed = drained ? total : result.messages;
        return {
          messages: removed,
          values: { rate: (removed * 1000) / result.elapsedMs, p50: result.latency.p50 },
          detail: { removed, acked: result.messages, operations: result.operations, emptyReceives, errors: result.errors, errorSamples: result.errorSamples, elapsedMs: result.elapsedMs, fillMs, latencyMs: result.latency },
        };
      });
      bar.done(`${formatNumber(outcome.values.rate)} msg/s (${String(outcome.detail.removed)} drained in ${(Number(outcome.detail.elapsedMs) / 1000).toFixed(1)} s, ${String(outcome.detail.errors)} errors)`);
      ctx.progress.log(`    ${raftLine(ctx, outcome)}`);
      return outcome;
    } finally {
      await pool.close();
    }
  },
};
