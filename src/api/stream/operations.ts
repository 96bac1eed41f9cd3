// Each stream request is the REST request of the same meaning (docs/STREAM.md, table of
// operations), served by the same route: its params and body schemas, its size checks,
// its Idempotency-Key rule and its handler, which builds and commits the broker command.
// Nothing is validated twice or differently here.
import { PRODUCER_ID_PATTERN, type ProducerFrames } from '../../broker/index.js';
import { idempotencyKeyOf, parseBody, replayedAnswer, validate } from '../app.js';
import { ApiError, STATUS_OF, type ApiErrorCode } from '../errors.js';
import { formatProducer, PRODUCER_HEADER } from '../producer.js';
import type { LeaderBoundRequest, LeaderGate } from '../leader.js';
import type { Answer, RouteSpec } from '../route.js';
import { NotLeaderError } from '../../node/errors.js';
import { badRequest, optionalString, requiredString, targetOf, type Frame } from './frames.js';
import type { StreamTarget } from './protocol.js';

/** The REST request a frame stands for. */
export interface RouteCall {
  operationId: string;
  params: Record<string, string>;
  body: unknown;
  idempotencyKey: string | undefined;
  /** A send's or publish's producer and sequence (docs/STREAM.md, Producers). */
  producer?: { id: string; seq: number };
}

export interface Caller {
  user: string;
  /** The stream's token, sent with a request this node relays to the leader. */
  token: string;
  clientAddress: string;
  signal: AbortSignal;
}

const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function targetParams(target: StreamTarget): Record<string, string> {
  return 'queue' in target ? { name: target.queue } : { name: target.topic, sub: target.subscription };
}

function messagesBody(fields: Record<string, unknown>): unknown {
  const single = fields.message !== undefined;
  const batch = fields.messages !== undefined;
  if (single === batch) throw badRequest('message', 'give either message (one) or messages (a batch)');
  return single ? fields.message : { messages: fields.messages };
}

const byTarget = (target: StreamTarget, queueOp: string, subOp: string): string => ('queue' in target ? queueOp : subOp);

/** A frame's `producer` and `seq`: both or neither. */
function frameProducer(f: Record<string, unknown>): { producer?: { id: string; seq: number } } {
  const { producer: id, seq } = f;
  if (id === undefined && seq === undefined) return {};
  if (typeof id !== 'string' || !PRODUCER_ID_PATTERN.test(id)) throw badRequest('producer', 'must be 1..64 characters of A-Z a-z 0-9 _ - (with seq)');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw badRequest('seq', 'must be an integer >= 0 (with producer)');
  return { producer: { id, seq } };
}

/** The route call of a send, publish, ack, nack or extend frame. */
export function routeCallOf(frame: Frame): RouteCall {
  const f = frame.fields;
  const idempotencyKey = optionalString(f, 'idempotencyKey');
  switch (frame.op) {
    case 'send':
      return { operationId: 'sendMessages', params: { name: requiredString(f, 'queue') }, body: messagesBody(f), idempotencyKey, ...frameProducer(f) };
    case 'publish':
      return { operationId: 'publishMessages', params: { name: requiredString(f, 'topic') }, body: messagesBody(f), idempotencyKey, ...frameProducer(f) };
    case 'ack': {
      const target = targetOf(f);
      return { operationId: byTarget(target, 'ackMessages', 'ackSubscription'), params: targetParams(target), body: defined({ receiptHandles: f.receiptHandles }), idempotencyKey };
    }
    case 'nack': {
      const target = targetOf(f);
      return {
        operationId: byTarget(target, 'nackMessages', 'nackSubscription'),
        params: targetParams(target),
        body: defined({ receiptHandles: f.receiptHandles, delayMs: f.delayMs }),
        idempotencyKey,
      };
    }
    case 'extend': {
      const target = targetOf(f);
      return {
        operationId: byTarget(target, 'changeVisibility', 'changeSubscriptionVisibility'),
        params: targetParams(target),
        body: defined({ receiptHandle: f.receiptHandle, visibilityTimeoutMs: f.visibilityTimeoutMs }),
        idempotencyKey,
      };
    }
    default:
      throw new Error(`no route for op ${frame.op}`);
  }
}

/** The receive a consumer proposes for `max` messages (waitMs 0: the consumer waits on
 *  the ready notifications itself, between receives). */
export function receiveCallOf(target: StreamTarget, max: number, visibilityTimeoutMs: number | undefined, waitMs: number): RouteCall {
  return {
    operationId: byTarget(target, 'receiveMessages', 'receiveSubscription'),
    params: targetParams(target),
    body: defined({ max, waitMs, visibilityTimeoutMs }),
    idempotencyKey: undefined,
  };
}

/** The routes a stream serves read no header but the producer's. */
const NO_HEADERS: Readonly<Record<string, string | undefined>> = Object.freeze({});

/** A call checked by its route's schemas: what the route's handler takes. */
export interface Prepared {
  spec: RouteSpec;
  params: unknown;
  body: unknown;
  idempotencyKey: string | undefined;
  /** The frame's producer and sequence, with its message count (coalesce.ts merges them). */
  producer?: ProducerFrames;
}

/** The headers a prepared call carries to its route (here, or relayed to the leader). */
function headersOf(prepared: Prepared): Readonly<Record<string, string | undefined>> {
  return prepared.producer === undefined ? NO_HEADERS : { [PRODUCER_HEADER]: formatProducer(prepared.producer) };
}

function messageCount(body: unknown): number {
  const messages = (body as { messages?: unknown[] }).messages;
  return messages === undefined ? 1 : messages.length;
}

/** The REST routes by operationId, run as the app runs them on the leader. */
export class RouteTable {
  private readonly byId = new Map<string, RouteSpec>();

  /** @param gate where a request is served: here on the leader; on a follower in forward
   *  mode, relayed to the leader as the REST request it stands for. */
  constructor(
    routes: readonly RouteSpec[],
    private readonly gate: LeaderGate,
  ) {
    for (const route of routes) this.byId.set(route.operationId, route);
  }

  /** Validates a call with its route's schemas (throws validation_failed and 413 as REST does). */
  prepare(call: RouteCall): Prepared {
    const spec = this.byId.get(call.operationId);
    if (!spec) throw new Error(`no route ${call.operationId}`);
    const params = validate(spec.params, call.params, 'params');
    const body = parseBody(spec, call.body);
    spec.check?.(body);
    const prepared: Prepared = { spec, params, body, idempotencyKey: idempotencyKeyOf(call.idempotencyKey) };
    if (call.producer !== undefined) {
      prepared.producer = { id: call.producer.id, frames: [{ seq: call.producer.seq, count: messageCount(body) }] };
    }
    return prepared;
  }

  /** Serves a call on this node (the leader); an answer replayed under an
   *  Idempotency-Key is returned as the first command's answer, as REST does. */
  async run(call: RouteCall, caller: Caller): Promise<Answer> {
    return this.serve(this.prepare(call), caller);
  }

  /** Serves a call prepare() checked (or several merged, see coalesce.ts). An error
   *  answer of a relayed request is thrown as the ApiError the leader answered. */
  async serve(prepared: Prepared, caller: Caller): Promise<Answer> {
    const { spec, params, body, idempotencyKey } = prepared;
    const answer = await this.gate.run(relayable(prepared, caller), () =>
      spec
        .handle({ user: caller.user, params, query: {}, body, idempotencyKey, clientAddress: caller.clientAddress, signal: caller.signal, headers: headersOf(prepared) })
        .catch(replayedAnswer),
    );
    if (answer.status === 307) {
      // Redirect mode, and this node stopped leading: nothing was proposed.
      const leader = (answer.body as { leader: { id: string; url: string } }).leader;
      throw new NotLeaderError(leader.id, leader.url);
    }
    return answer.raw ? relayedAnswer(answer) : answer;
  }
}

/** The REST request of a call, built only if the gate relays it (the leader serves the
 *  call directly and never reads these fields). */
function relayable(prepared: Prepared, caller: Caller): LeaderBoundRequest {
  const { spec, params, body, idempotencyKey } = prepared;
  return {
    method: spec.method,
    get url() {
      return spec.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent((params as Record<string, string>)[name]));
    },
    get headers() {
      return {
        authorization: `Bearer ${caller.token}`,
        'content-type': 'application/json',
        ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
        ...headersOf(prepared),
      };
    },
    get rawBody() {
      return Buffer.from(JSON.stringify(body));
    },
    clientAddress: caller.clientAddress,
    forwarded: false,
    clientGone: () => caller.signal,
  };
}

const isErrorCode = (code: unknown): code is ApiErrorCode => typeof code === 'string' && Object.prototype.hasOwnProperty.call(STATUS_OF, code);

/** The leader's answer to a relayed request, as the route's own answer or error. A 307
 *  (leadership moved on the way) counts as no_leader: the stream closes with
 *  leaderChanged and the client resends. */
function relayedAnswer(answer: Answer): Answer {
  const raw = answer.raw!;
  const text = typeof raw.bytes === 'string' ? raw.bytes : Buffer.from(raw.bytes).toString('utf8');
  const json = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (answer.status < 300) return { status: answer.status, body: json };
  const error = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (answer.status < 400 || !error || !isErrorCode(error.code)) {
    throw new ApiError('no_leader', `the leader answered ${answer.status}`, { outcome: 'unknown' });
  }
  throw new ApiError(error.code, String(error.message), error.details ?? undefined);
}
