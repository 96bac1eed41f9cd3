// Operation and delivery records shared by the workload (which writes them) and the
// checker (which judges them). Pure data: no I/O here.
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

import type { Target } from '../../src/broker/targets.js';

export { queueTarget, subscriptionTarget as subTarget, type Target } from '../../src/broker/targets.js';

/** On ok, `ids` holds the message ids the broker assigned (for reading a failure). */
export interface SendValue { queue: string; key: string; payloads: string[]; ids?: string[] }
export interface PublishValue { topic: string; key: string; payloads: string[]; ids?: string[] }
export interface SubscribeValue { topic: string; subscription: string }
export interface DeliveredMessage { id: string; body: string; receiveCount: number; receiptHandle?: string }
/** `key`: the idempotency key shared by the attempts of one logical receive. */
export interface ReceiveValue { target: Target; key?: string; messages?: DeliveredMessage[] }
export interface AckValue {
  target: Target;
  items: { id: string; receiveCount: number; receiptHandle: string }[];
  /** On ok: the receipt handles the broker called stale. */
  unknown?: string[];
}

export interface SetupValue { what: string }

/** `node`: on completions, the node origin that answered (or failed to). */
interface OpBase { process: string; type: OpType; opId: number; time: number; error?: string; node?: string }
export type HistoryOp =
  | (OpBase & { f: 'send'; value: SendValue })
  | (OpBase & { f: 'publish'; value: PublishValue })
  | (OpBase & { f: 'subscribe'; value: SubscribeValue })
  | (OpBase & { f: 'receive'; value: ReceiveValue })
  | (OpBase & { f: 'ack'; value: AckValue })
  | (OpBase & { f: 'setup'; value: SetupValue });

export type OpFunction = HistoryOp['f'];

/** One delivery as the consumer saw it. */
export interface Delivery {
  target: Target;
  id: string;
  body: string;
  receiveCount: number;
  /** The receive operation that returned it, and its invoke/complete times. */
  opId: number;
  invokedAt: number;
  completedAt: number;
  /** Position in that receive's answer. */
  position: number;
}

/** Deliveries are the messages of every receive that completed ok. */
export function deliveriesFromHistory(history: readonly HistoryOp[]): Delivery[] {
  const invokedAt = new Map<number, number>();
  // A retried receive may return the answer of an earlier attempt (same idempotency
  // key), so its lease may date from the first attempt's invoke.
  const firstInvokeOfKey = new Map<string, number>();
  const out: Delivery[] = [];
  for (const op of history) {
    if (op.f !== 'receive') continue;
    if (op.type === 'invoke') {
      const key = op.value.key;
      const first = key === undefined ? op.time : firstInvokeOfKey.get(key) ?? op.time;
      if (key !== undefined && !firstInvokeOfKey.has(key)) firstInvokeOfKey.set(key, op.time);
      invokedAt.set(op.opId, first);
      continue;
    }
    if (op.type !== 'ok') continue;
    const messages = op.value.messages ?? [];
    messages.forEach((m, position) => out.push({
      target: op.value.target, id: m.id, body: m.body, receiveCount: m.receiveCount,
      opId: op.opId, invokedAt: invokedAt.get(op.opId) ?? op.time, completedAt: op.time, position,
    }));
  }
  return out;
}


/** The value an operation of each function carries. */
export interface OpValues {
  send: SendValue; publish: PublishValue; subscribe: SubscribeValue; receive: ReceiveValue; ack: AckValue; setup: SetupValue;
}
export type OpValue<F extends OpFunction> = OpValues[F];
