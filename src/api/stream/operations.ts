// Each stream request is the REST request of the same meaning (docs/STREAM.md, table of
// operations), served by the same route: its params and body schemas, its size checks,
// its Idempotency-Key rule and its handler, which builds and commits the broker command.
// Nothing is validated twice or differently here.
import { idempotencyKeyOf, parseBody, replayedAnswer, validate } from '../app.js';
import type { Answer, RouteSpec } from '../route.js';
import { badRequest, optionalString, requiredString, targetOf, type Frame } from './frames.js';
import type { StreamTarget } from './protocol.js';

/** The REST request a frame stands for. */
export interface RouteCall {
  operationId: string;
  params: Record<string, string>;
  body: unknown;
  idempotencyKey: string | undefined;
}

export interface Caller {
  user: string;
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

/** The route call of a send, publish, ack, nack or extend frame. */
export function routeCallOf(frame: Frame): RouteCall {
  const f = frame.fields;
  const idempotencyKey = optionalString(f, 'idempotencyKey');
  switch (frame.op) {
    case 'send':
      return { operationId: 'sendMessages', params: { name: requiredString(f, 'queue') }, body: messagesBody(f), idempotencyKey };
    case 'publish':
      return { operationId: 'publishMessages', params: { name: requiredString(f, 'topic') }, body: messagesBody(f), idempotencyKey };
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

/** A call checked by its route's schemas: what the route's handler takes. */
export interface Prepared {
  spec: RouteSpec;
  params: unknown;
  body: unknown;
  idempotencyKey: string | undefined;
}

/** The REST routes by operationId, run as the app runs them on the leader. */
export class RouteTable {
  private readonly byId = new Map<string, RouteSpec>();

  constructor(routes: readonly RouteSpec[]) {
    for (const route of routes) this.byId.set(route.operationId, route);
  }

  /** Validates a call with its route's schemas (throws validation_failed and 413 as REST does). */
  prepare(call: RouteCall): Prepared {
    const spec = this.byId.get(call.operationId);
    if (!spec) throw new Error(`no route ${call.operationId}`);
    const params = validate(spec.params, call.params, 'params');
    const body = parseBody(spec, call.body);
    spec.check?.(body);
    return { spec, params, body, idempotencyKey: idempotencyKeyOf(call.idempotencyKey) };
  }

  /** Serves a call on this node (the leader); an answer replayed under an
   *  Idempotency-Key is returned as the first command's answer, as REST does. */
  async run(call: RouteCall, caller: Caller): Promise<Answer> {
    return this.serve(this.prepare(call), caller);
  }

  /** Serves a call prepare() checked (or several merged, see coalesce.ts). */
  serve(prepared: Prepared, caller: Caller): Promise<Answer> {
    const { spec, params, body, idempotencyKey } = prepared;
    return spec
      .handle({ user: caller.user, params, query: {}, body, idempotencyKey, clientAddress: caller.clientAddress, signal: caller.signal })
      .catch(replayedAnswer);
  }
}
