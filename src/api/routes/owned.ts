// The routes a queue and a topic share: grants (PUT, DELETE) and sending messages. They
// differ in the permission names, the message shape (a topic message has no delay) and
// the command types, which `Owned` says once for each.
import type { z } from 'zod';
import { encodeBodySpansCommand, type CommandOf, type SendHead } from '../../broker/index.js';
import { COMMAND_HEADROOM } from '../../node/envelope.js';
import { BodySpans, scanBodySpans } from '../body-spans.js';
import { commit, commitEncoded, idempotencyField, type ApiDeps } from '../deps.js';
import { framesBody, isFramesView, PRODUCER_HEADER, PRODUCER_HEADER_DOC, producerOf } from '../producer.js';
import { defineRoute, type RouteSpec } from '../route.js';
import { GrantParams, NameParams } from '../schemas.js';
import { checkMessageSizes } from './messages.js';

type GrantCommand = CommandOf<'queue.grant'> | CommandOf<'topic.grant'>;
type RevokeCommand = CommandOf<'queue.revoke'> | CommandOf<'topic.revoke'>;
type SendCommand = CommandOf<'queue.send'> | CommandOf<'topic.publish'>;
type Message = SendCommand['messages'][number];

type SendBody = Message | { messages: Message[] };

export interface Owned<G extends z.ZodType<{ permissions: string[] }>, V extends z.ZodType, S extends z.ZodType<SendBody>> {
  kind: 'queue' | 'topic';
  /** `/v1/queues/:name` or `/v1/topics/:name`. */
  path: string;
  grant: { operationId: string; summary: string; body: G };
  revoke: { operationId: string; summary: string; body?: V };
  send: { operationId: string; summary: string; body: S; parseBody(json: unknown): z.output<S> };
}

/** The command types of each kind. The broker's schema checks the command on encode;
 *  TypeScript cannot pair a kind with its field names through a spread, hence the
 *  assertions below. */
const TYPES = {
  queue: { grant: 'queue.grant', revoke: 'queue.revoke', send: 'queue.send' },
  topic: { grant: 'topic.grant', revoke: 'topic.revoke', send: 'topic.publish' },
} as const;

export function ownedRoutes<G extends z.ZodType<{ permissions: string[] }>, V extends z.ZodType, S extends z.ZodType<SendBody>>(
  deps: ApiDeps,
  at: Owned<G, V, S>,
): RouteSpec[] {
  const types = TYPES[at.kind];
  const ref = (name: string) => (at.kind === 'queue' ? { queue: name } : { topic: name });
  const route = { auth: true, kind: 'write' } as const;
  return [
    defineRoute({
      ...route,
      method: 'PUT',
      path: `${at.path}/grants/:username`,
      operationId: at.grant.operationId,
      summary: at.grant.summary,
      params: GrantParams,
      body: at.grant.body,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: types.grant, user, ...idempotencyField(idempotencyKey), ...ref(params.name),
          username: params.username, permissions: [...new Set(body.permissions)],
        } as GrantCommand);
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      ...route,
      method: 'DELETE',
      path: `${at.path}/grants/:username`,
      operationId: at.revoke.operationId,
      summary: at.revoke.summary,
      params: GrantParams,
      ...(at.revoke.body && { body: at.revoke.body }),
      success: 204,
      async handle({ user, params, idempotencyKey }) {
        await commit(deps, {
          type: types.revoke, user, ...idempotencyField(idempotencyKey), ...ref(params.name), username: params.username,
        } as RevokeCommand);
        return { status: 204 };
      },
    }),
    defineRoute({
      ...route,
      method: 'POST',
      path: `${at.path}/messages`,
      operationId: at.send.operationId,
      summary: at.send.summary,
      params: NameParams,
      body: at.send.body,
      parseBody: at.send.parseBody,
      fastBody: scanBodySpans,
      success: 201,
      headers: [PRODUCER_HEADER_DOC],
      check: checkMessageSizes,
      async handle({ user, params, body, idempotencyKey, headers }) {
        // New messages need disk; everything else (receives, acks) frees or keeps it.
        const refused = deps.node.storageRefusal();
        if (refused) throw refused;
        // Read from the request's bytes (BodySpans), or parsed from its JSON.
        const spans = body instanceof BodySpans ? body : undefined;
        const sent = body as SendBody;
        const batch = spans ? spans.batch : 'messages' in sent;
        const parsed = spans ? undefined : 'messages' in sent ? sent.messages : [sent];
        const count = spans ? spans.count : parsed!.length;
        const producer = producerOf(headers[PRODUCER_HEADER], count);
        const head = {
          type: types.send, user, ...idempotencyField(idempotencyKey), ...ref(params.name), batch,
          ...(producer !== undefined && { producer }),
        } as SendHead;
        const encoded = spans && encodeBodySpansCommand(head, spans.source, spans.spans, COMMAND_HEADROOM);
        const value = encoded
          ? await commitEncoded(deps, types.send, encoded)
          : await commit(deps, { ...head, messages: parsed ?? spans!.messages() });
        deps.metrics.sent(at.kind, count);
        return { status: 201, body: isFramesView(value) ? framesBody(value) : value };
      },
    }),
  ];
}
