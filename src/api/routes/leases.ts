// The routes a queue and a subscription share: receive (long polling included), ack,
// nack and visibility. Both lease messages the same way; they differ only in how the
// path names them and in the command types, which `Leased` says once for each.
import type { z } from 'zod';
import type { CommandOf } from '../../broker/index.js';
import { commit, idempotencyField, receiptKeyField, type ApiDeps } from '../deps.js';
import type { MessageKind } from '../metrics.js';
import { parseAckBody, parseReceiveBody } from '../lease-bodies.js';
import { receiveWithWait } from '../receive.js';
import { ackKeyOf } from '../receive-ack.js';
import { receivedJson, type AckAnswer } from '../received-json.js';
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
      successDescription: '{messages: Received[]}; with ackReceiptHandles in the request, also {acked: n, unknown: string[]} as the ack route answers',
      method: 'POST',
      body: ReceiveBody,
      parseBody: parseReceiveBody,
      async handle(input) {
        const { user, params, body, idempotencyKey } = input;
        const toAck = body.ackReceiptHandles;
        // The acknowledgement a receive may carry is proposed first, then the receive, in
        // the same tick and without waiting for the ack to commit: proposals enter the log
        // in the order they are made and every replica applies the log in order, so the
        // ack is applied before the receive (as if POST .../ack had answered first), and
        // both usually ride one group commit. Waiting would cost a round of fsyncs and
        // buy nothing: the ack fails where the receive fails too (no such queue or
        // subscription, no grant: the ack route's rule, checked by the broker on apply).
        // Where the node refuses or loses the ack alone (overloaded, outcome unknown), a
        // receive applied anyway leases messages the error answer does not carry: they
        // come back after their visibility timeout, as after any lost answer.
        const acking = toAck === undefined || toAck.length === 0
          ? undefined
          : commit(deps, leaseCommand(at, 'ack', params, {
            user, ...idempotencyField(idempotencyKey === undefined ? undefined : ackKeyOf(idempotencyKey)), receiptHandles: toAck,
          }));
        let ack: AckAnswer | undefined = toAck === undefined ? undefined : { acked: 0, unknown: [] };
        const answer = await receiveWithWait(deps, {
          target: at.target(params),
          max: body.max,
          waitMs: body.waitMs,
          clientGone: () => input.signal,
          propose: async (attempt) => {
            const receiving = commit(deps, leaseCommand(at, 'receive', params, {
              ...receiptKeyField(deps.broker),
              user,
              // The broker keeps the first (empty) answer under the key: a long poll's
              // later receives are new commands of their own.
              ...(attempt === 0 ? idempotencyField(idempotencyKey) : {}),
              max: body.max,
              ...(body.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: body.visibilityTimeoutMs }),
            }));
            if (attempt > 0 || acking === undefined) return receiving;
            // A failed ack is the request's answer, even where the receive failed as well.
            const [acked, received] = await Promise.allSettled([acking, receiving]);
            if (acked.status === 'rejected') throw acked.reason;
            ack = acked.value;
            if (received.status === 'rejected') throw received.reason;
            return received.value;
          },
        });
        deps.metrics.received(at.kind, answer.messages.length);
        if (ack === undefined) return { status: 200, body: answer, bodyJson: () => receivedJson(answer.messages) };
        const { acked, unknown } = ack;
        deps.metrics.acked(at.kind, acked);
        return { status: 200, body: { ...answer, acked, unknown }, bodyJson: () => receivedJson(answer.messages, { acked, unknown }) };
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
