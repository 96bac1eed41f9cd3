// The RabbitMQ side of `make bench-compare`: the same four loads as the broker's
// scenarios, over AMQP 0-9-1 with amqplib, against quorum queues on the queue leader.
// - sends: a publisher-confirm channel per connection; a send is done when its confirm
//   arrives (a quorum queue confirms after a majority has the message in its fsynced WAL).
//   Connections: 1 for one in flight, 8 for 256 in flight (rows.ts says why), one per
//   batch worker (32) as the broker's client.
// - batches of 100: a worker publishes 100 messages at once and waits for all 100
//   confirms; 32 such workers, the closest equivalent of 32 batch requests in flight.
// - receive+ack: 16 consumers, each on its own connection with basic.qos prefetch 10;
//   a consumer acks (multiple) what it holds after every 10 deliveries or at the end of
//   each burst read from the socket, like a receive of up to 10 followed by one ack.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { cpuBetween, sampleCpu } from '../cpu.js';
import { closedLoop, type LoadState } from '../load.js';
import type { Progress } from '../progress.js';
import type { RunOutcome } from '../results.js';
import { formatNumber } from '../table.js';
import type { RabbitCluster } from './rabbit-cluster.js';

export interface AmqpSide {
  cluster: RabbitCluster;
  /** The node that leads the queues (clients connect there, as the broker's go to its leader). */
  leaderId: string;
  progress: Progress;
  /** The other system's processes, idle meanwhile: their CPU is kept in the JSON. */
  idlePids: () => Record<string, number | undefined>;
}

export const AMQP_QUEUES = { sequential: 'bench-sequential', pipelined: 'bench-pipelined', batched: 'bench-batched', drain: 'bench-drain', warmup: 'bench-warmup' };

const PUBLISH_OPTIONS = { persistent: true, contentType: 'text/plain' };

/**
 * An AMQP connection whose 'error' events are listened to: amqplib throws an unheard one,
 * which would end the bench without stopping the clusters. The failure still reaches the
 * load: publishes and consumes on a broken connection reject, and a drain stalls.
 */
async function openConnection(url: string): Promise<ChannelModel> {
  const conn = await connect(url);
  conn.on('error', () => undefined);
  return conn;
}

/** Declares the quorum queues on `url` and empties them. */
export async function declareQueues(url: string): Promise<void> {
  const conn = await openConnection(url);
  try {
    const ch = await conn.createChannel();
    for (const q of Object.values(AMQP_QUEUES)) {
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.purgeQueue(q);
    }
    await ch.close();
  } finally {
    await conn.close();
  }
}

export async function purgeQueue(url: string, queue: string): Promise<void> {
  const conn = await openConnection(url);
  try {
    const ch = await conn.createChannel();
    await ch.purgeQueue(queue);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Confirm channels over `count` connections; worker i publishes on channel i mod count. */
export class Publishers {
  private constructor(private readonly conns: ChannelModel[], private readonly channels: ConfirmChannel[]) {}

  static async open(url: string, count: number): Promise<Publishers> {
    const conns: ChannelModel[] = [];
    const channels: ConfirmChannel[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const conn = await openConnection(url);
        conns.push(conn);
        channels.push(await conn.createConfirmChannel());
      }
    } catch (err) {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      throw err;
    }
    return new Publishers(conns, channels);
  }

  /** Resolves when the broker confirms the message, rejects on a nack. */
  publish(worker: number, queue: string, body: Buffer): Promise<void> {
    const ch = this.channels[worker % this.channels.length];
    return new Promise((resolve, reject) => {
      ch.sendToQueue(queue, body, PUBLISH_OPTIONS, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(`nack: ${String(err)}`)) : resolve()));
    });
  }

  /** `count` messages at once; resolves when every one is confirmed. */
  async publishBatch(worker: number, queue: string, body: Buffer, count: number): Promise<void> {
    const confirms: Promise<void>[] = [];
    for (let i = 0; i < count; i++) confirms.push(this.publish(worker, queue, body));
    await Promise.all(confirms);
  }

  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close().catch(() => undefined)));
  }
}

/** Runs `run` with the CPU of the RabbitMQ nodes, the load generator and the rest around it. */
export async function measuredAmqp(side: AmqpSide, run: () => Promise<Omit<RunOutcome, 'cpu' | 'leaderId'>>): Promise<RunOutcome> {
  const pids = side.cluster.beamPids();
  const idle = side.idlePids();
  const before = sampleCpu(pids);
  const idleBefore = sampleCpu(idle);
  const outcome = await run();
  const after = sampleCpu(pids);
  const cpu = cpuBetween(before, after);
  const idleCpu = cpuBetween(idleBefore, sampleCpu(idle));
  return { ...outcome, cpu, leaderId: side.leaderId, detail: { ...outcome.detail, cpuPerNodeMs: cpu.serversMs, idleOtherSystemMs: idleCpu.serversTotalMs } };
}

export interface AmqpSendLoad {
  queue: string;
  /** Messages per operation: 1 (a send) or a batch whose confirms are awaited together. */
  perOp: number;
  inFlight: number;
  /** AMQP connections (a confirm channel each) the workers share, at most one per worker. */
  connections: number;
  durationMs: number;
}

export async function amqpSendLoad(side: AmqpSide, load: AmqpSendLoad, body: Buffer, label: string): Promise<RunOutcome> {
  const url = side.cluster.amqpUrl(side.leaderId);
  const publishers = await Publishers.open(url, Math.min(load.connections, load.inFlight));
  const state: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
  const bar = side.progress.start(label, () => (performance.now() - state.startedAt) / load.durationMs,
    () => `${formatNumber((state.messages * 1000) / Math.max(1, performance.now() - state.startedAt))} msg/s`);
  try {
    const outcome = await measuredAmqp(side, async () => {
      const result = await closedLoop({
        concurrency: load.inFlight,
        durationMs: load.durationMs,
        op: async (worker) => {
          if (load.perOp === 1) await publishers.publish(worker, load.queue, body);
          else await publishers.publishBatch(worker, load.queue, body, load.perOp);
          return load.perOp;
        },
      }, state);
      return {
        messages: result.messages,
        values: { rate: result.rate, p50: result.latency.p50, p99: result.latency.p99, p999: result.latency.p999 },
        detail: { messages: result.messages, operations: result.operations, errors: result.errors, errorSamples: result.errorSamples, elapsedMs: result.elapsedMs, latencyMs: result.latency },
      };
    });
    bar.done(`${formatNumber(outcome.values.rate)} msg/s, p50 ${formatNumber(outcome.values.p50)} ms, p99 ${formatNumber(outcome.values.p99)} ms, errors ${String(outcome.detail.errors)}`);
    return outcome;
  } finally {
    await publishers.close();
    await purgeQueue(url, load.queue);
  }
}

/** Queues exactly `messages` messages in batches of 100, 32 batches in flight on 32 connections, as the broker's fill (not measured). */
export async function amqpFill(side: AmqpSide, queue: string, messages: number, body: Buffer, label: string): Promise<number> {
  const publishers = await Publishers.open(side.cluster.amqpUrl(side.leaderId), 32);
  let claimed = 0;
  let sent = 0;
  const start = performance.now();
  const bar = side.progress.start(label, () => sent / messages, () => `${formatNumber((sent * 1000) / Math.max(1, performance.now() - start))} msg/s`);
  try {
    await Promise.all(Array.from({ length: 32 }, async (_, worker) => {
      while (claimed < messages) {
        const n = Math.min(100, messages - claimed);
        claimed += n;
        await publishers.publishBatch(worker, queue, body, n);
        sent += n;
      }
    }));
  } finally {
    await publishers.close();
  }
  const elapsed = performance.now() - start;
  bar.done(`filled ${formatNumber(sent)} in ${(elapsed / 1000).toFixed(1)} s`);
  return elapsed;
}

export interface AmqpDrain {
  queue: string;
  messages: number;
  consumers: number;
  /** basic.qos prefetch per consumer, and the most a consumer holds before it acks. */
  prefetch: number;
  /** Give up when no delivery arrives for this long. */
  stallMs: number;
}

interface Consumer {
  conn: ChannelModel;
  ch: Channel;
}

/** Fills the queue, then drains it with acking consumers; the rate counts until every ack was sent and the channels answered after it. */
export async function amqpDrain(side: AmqpSide, drain: AmqpDrain, body: Buffer, label: string): Promise<RunOutcome> {
  const url = side.cluster.amqpUrl(side.leaderId);
  await purgeQueue(url, drain.queue);
  const fillMs = await amqpFill(side, drain.queue, drain.messages, body, `${label}: fill`);
  const consumers: Consumer[] = [];
  let acked = 0;
  let ackCalls = 0;
  const start = { at: performance.now() };
  const bar = side.progress.start(`${label}: drain`, () => acked / drain.messages,
    () => `${formatNumber((acked * 1000) / Math.max(1, performance.now() - start.at))} msg/s`);
  try {
    for (let i = 0; i < drain.consumers; i++) {
      const conn = await openConnection(url);
      const ch = await conn.createChannel();
      await ch.prefetch(drain.prefetch);
      consumers.push({ conn, ch });
    }
    const outcome = await measuredAmqp(side, async () => {
      start.at = performance.now();
      let lastDelivery = performance.now();
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: Error) => {
          clearInterval(stall);
          if (err === undefined) resolve();
          else reject(err);
        };
        const stall = setInterval(() => {
          if (performance.now() - lastDelivery > drain.stallMs) settle(new Error(`drain stalled: ${acked} of ${drain.messages} acked, nothing delivered for ${drain.stallMs} ms`));
        }, 250);
        const finish = () => settle();
        for (const { ch } of consumers) {
          let held = 0;
          let last: ConsumeMessage | undefined;
          let flushScheduled = false;
          const flush = () => {
            flushScheduled = false;
            if (last === undefined) return;
            ch.ack(last, true);
            ackCalls++;
            acked += held;
            held = 0;
            last = undefined;
            if (acked >= drain.messages) finish();
          };
          ch.consume(drain.queue, (msg) => {
            if (msg === null) return;
            lastDelivery = performance.now();
            held++;
            last = msg;
            if (held >= drain.prefetch) flush();
            else if (!flushScheduled) {
              flushScheduled = true;
              setImmediate(flush);
            }
          }, { noAck: false }).catch((err: unknown) => settle(err instanceof Error ? err : new Error(String(err))));
        }
      });
      // A round trip on every channel: the server has read each one's acks.
      await Promise.all(consumers.map(({ ch }) => ch.checkQueue(drain.queue)));
      const elapsedMs = performance.now() - start.at;
      return {
        messages: acked,
        values: { rate: (acked * 1000) / elapsedMs, p50: Number.NaN },
        detail: { acked, ackCalls, elapsedMs, fillMs, consumers: drain.consumers, prefetch: drain.prefetch },
      };
    });
    bar.done(`${formatNumber(outcome.values.rate)} msg/s (${formatNumber(acked)} drained in ${(Number(outcome.detail.elapsedMs) / 1000).toFixed(1)} s, ${formatNumber(acked / Math.max(1, ackCalls))} per ack)`);
    return outcome;
  } finally {
    await Promise.all(consumers.map(({ conn }) => conn.close().catch(() => undefined)));
    await purgeQueue(url, drain.queue);
  }
}

/** The queue leader's node id (r1..), from rabbitmqctl list_queues. */
export async function queueLeader(cluster: RabbitCluster, queue: string): Promise<string> {
  const text = await cluster.ctl(cluster.nodes[0], ['list_queues', 'name', 'leader', '--formatter', 'json', '--quiet']);
  const row = (JSON.parse(text) as Array<{ name: string; leader?: string }>).find((q) => q.name === queue);
  const leader = row?.leader?.split('@')[0];
  if (leader === undefined || !cluster.nodes.some((n) => n.id === leader)) throw new Error(`no leader for quorum queue ${queue}: ${text.slice(0, 200)}`);
  return leader;
}
