// The routes a queue and a subscription share: receive (long polling included), ack,
// nack and visibility. Both lease messages the same way; they differ only in how the
// path names them and in the command types, which `Leased` says once for each.
import type { z } from 'zod';
import type { CommandOf } from '../../broker/index.js';
import { commit, idempotencyField, receiptKeyField, type ApiDeps } from '../deps.js';
import type { MessageKind } from '../metrics.js';
import { parseAckBody, parseReceiveBody } from '../lease-bodies.js';
import { receiveWithWait } from '../receive.js';
import { receivedJson } from '../received-json.js';
import { defineRoute, type RouteSpec } from '../route.js';
import { AckBody, NackBody, ReceiveBody, VisibilityBody } from '../schemas.js';

type Verb = 'receive' | 'ack' | 'nack' | 'visibility';
/** The command of `verb` on a queue or a subscription, without its type and channel. */
type Fields<V extends Verb> = Omit<CommandOf<`queue.${V}`>, 'type' | 'queue'>;
type LeaseCommand<V extends Verb> = CommandOf<`queue.${V}`> | CommandOf<`subscription.${V}`>;

export interface Leased<P extends z.ZodType> {
  kind: MessageKind & ('queue' | 'subscription');
  /** `/v1/queues/:name` or `/v1/topics/:name/subscriptions/:sub`. */
  path: string;
  params: P;
  operationIds: Record<Verb, string>;
  summaries: Record<Verb, string>;
  /** The long-poll target (src/broker/targets.ts). */
  target(params: z.output<P>): string;
  /** The command fields that name the channel. */
  ref(params: z.output<P>): { queue: string } | { topic: string; subscription: string };
}

/** `queue.<verb>` or `subscription.<verb>` with the channel's fields. The broker's schema
 *  checks the pair on encode; TypeScript cannot follow a template literal type through
 *  the spread, hence the one assertion. */
function leaseCommand<V extends Verb>(at: Leased<z.ZodType>, verb: V, params: unknown, fields: Fields<V>): LeaseCommand<V> {
  return { type: `${at.kind}.${verb}`, ...fields, ...at.ref(params) } as LeaseCommand<V>;
}

export function leaseRoutes<P extends z.ZodType>(deps: ApiDeps, at: Leased<P>): RouteSpec[] {
  const route = { auth: true, kind: 'write', params: at.params, success: 200 } as const;
  const op = (verb: Verb) => ({ path: `${at.path}/${verb}`, operationId: at.operationIds[verb], summary: at.summaries[verb] });
  return [
    defineRoute({
      ...route,
      ...op('receive'),
      method: 'POST',
      body: ReceiveBody,
      parseBody: parseReceiveBody,
      async handle(input) {
        const { user, params, body, idempotencyKey } = input;
        const answer = await receiveWithWait(deps, {
          target: at.target(params),
          max: body.max,
          waitMs: body.waitMs,
          clientGone: () => input.signal,
          propose: (attempt) =>
            commit(deps, leaseCommand(at, 'receive', params, {
              ...receiptKeyField(deps.broker),
              user,
              // The broker keeps the first (empty) answer under the key: a long poll's
              // later receives are new commands of their own.
              ...(attempt === 0 ? idempotencyField(idempotencyKey) : {}),
              max: body.max,
              ...(body.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: body.visibilityTimeoutMs }),
            })),
        });
        deps.metrics.received(at.kind, answer.messages.length);
        return { status: 200, body: answer, bodyJson: () => receivedJson(answer.messages) };
      },
    }),
    defineRoute({
      ...route,
      ...op('ack'),
      method: 'POST',
      body: AckBody,
      parseBody: parseAckBody,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, leaseCommand(at, 'ack', params, {
          user, ...idempotencyField(idempotencyKey), receiptHandles: body.receiptHandles,
        }));
        deps.metrics.acked(at.kind, value.acked);
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      ...route,
      ...op('nack'),
      method: 'POST',
      body: NackBody,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, leaseCommand(at, 'nack', params, {
          user, ...idempotencyField(idempotencyKey), receiptHandles: body.receiptHandles, delayMs: body.delayMs,
        }));
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      ...route,
      ...op('visibility'),
      method: 'POST',
      body: VisibilityBody,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, leaseCommand(at, 'visibility', params, {
          user, ...idempotencyField(idempotencyKey), receiptHandle: body.receiptHandle, visibilityTimeoutMs: body.visibilityTimeoutMs,
        }));
        return { status: 200, body: value };
      },
    }),
  ];
}
