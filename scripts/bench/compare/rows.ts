// The rows of `make bench-compare`: each is one of `make bench`'s scenarios on this
// broker (the very same code) and its AMQP counterpart on RabbitMQ quorum queues.
import type { BenchContext } from '../context.js';
import type { RunOutcome } from '../results.js';
import type { Scenario } from '../scenario.js';
import { receiveAck } from '../scenarios/receive-ack.js';
import { BATCHED_SHAPE, batchedSend100, pipelinedSend, sequentialSend } from '../scenarios/send-load.js';
import { streamConsume, streamSend, streamSequential } from '../scenarios/stream.js';
import { AMQP_QUEUES, amqpDrain, amqpSendLoad, type AmqpSide } from './amqp-load.js';
import type { Latency } from './compare-table.js';
import type { CompareOptions } from './options.js';

/**
 * RabbitMQ's publisher connections for 256 sends in flight. AMQP pipelines confirms on a
 * channel, so it needs none of the 64 connections HTTP/1.1 does; 8 gave it the best rate
 * here (one 3 s run each, same invocation as this broker: 1: 9,645 msg/s, 8: 16,733,
 * 64: 15,168; a full 3-run compare with 64: 11,741 at 110 µs server CPU per message,
 * with 8: 17,003 at 81 µs).
 */
export const AMQP_PIPELINED_CONNECTIONS = 8;

/** 1 KiB of ASCII, the body both systems carry (the broker's JSON wraps the same 1024 bytes). */
export const AMQP_BODY = Buffer.alloc(1024, 'm');

export interface CompareRow {
  id: number;
  title: string;
  unit: string;
  latency: Latency[];
  /** This broker's scenario (its setup creates the queue). */
  ours: Scenario;
  rabbit(side: AmqpSide, options: CompareOptions, label: string): Promise<RunOutcome>;
}

/** The AMQP loads the REST rows and the stream rows are both compared with. */
const rabbitSequential: CompareRow['rabbit'] = (side, o, label) => amqpSendLoad(side, { queue: AMQP_QUEUES.sequential, perOp: 1, inFlight: 1, connections: 1, durationMs: o.durationMs }, AMQP_BODY, label);
const rabbitPipelined: CompareRow['rabbit'] = (side, o, label) => amqpSendLoad(side, { queue: AMQP_QUEUES.pipelined, perOp: 1, inFlight: 256, connections: o.amqpConnections ?? AMQP_PIPELINED_CONNECTIONS, durationMs: o.durationMs }, AMQP_BODY, label);

export const COMPARE_ROWS: CompareRow[] = [
  {
    id: 1, title: 'send, 1 in flight', unit: 'sent', latency: ['p50', 'p99'], ours: sequentialSend,
    rabbit: rabbitSequential,
  },
  {
    id: 2, title: 'send, 256 in flight', unit: 'sent', latency: ['p50', 'p99'], ours: pipelinedSend,
    rabbit: rabbitPipelined,
  },
  {
    id: 3, title: 'receive+ack, max 10, 16 consumers', unit: 'drained', latency: [], ours: receiveAck,
    rabbit: (side, o, label) => amqpDrain(side, { queue: AMQP_QUEUES.drain, messages: o.drainMessages, consumers: 16, prefetch: 10, stallMs: 30_000 }, AMQP_BODY, label),
  },
  {
    id: 4, title: 'batches of 100, 32 in flight', unit: 'sent', latency: ['p50'], ours: batchedSend100,
    rabbit: (side, o, label) => amqpSendLoad(side, { queue: AMQP_QUEUES.batched, perOp: 100, inFlight: 32, connections: o.amqpConnections ?? BATCHED_SHAPE.connections, durationMs: o.durationMs }, AMQP_BODY, label),
  },
  // The stream (docs/STREAM.md) beside the same AMQP loads: one WebSocket against AMQP
  // at its best (rows 1 and 2's connections), and one consumer with prefetch 256.
  {
    id: 5, title: 'stream send, 1 in flight', unit: 'sent', latency: ['p50', 'p99'], ours: streamSequential,
    rabbit: rabbitSequential,
  },
  {
    id: 6, title: 'stream send, 256 in flight', unit: 'sent', latency: ['p50', 'p99'], ours: streamSend,
    rabbit: rabbitPipelined,
  },
  {
    id: 7, title: 'stream consume, prefetch 256, ack each', unit: 'drained', latency: [], ours: streamConsume,
    rabbit: (side, o, label) => amqpDrain(side, { queue: AMQP_QUEUES.drain, messages: o.drainMessages, consumers: 1, prefetch: 256, stallMs: 30_000 }, AMQP_BODY, label),
  },
];

/** make bench's options with every timed scenario at the compare's duration. */
export function oursOptions(base: BenchContext['options'], o: CompareOptions): BenchContext['options'] {
  return {
    ...base,
    runs: o.runs,
    drainMessages: o.drainMessages,
    durations: { ...base.durations, warmupMs: o.warmupMs, sequentialMs: o.durationMs, pipelinedMs: o.durationMs, batchedMs: o.durationMs },
    outDir: o.outDir,
  };
}
