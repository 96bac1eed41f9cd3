// The /v1/queues rows of docs/API.md (Queues).
import type { ReceivedView } from '../../broker/index.js';
import { commit, idempotencyField, unwrap, type ApiDeps } from '../deps.js';
import { receiveWithWait } from '../receive.js';
import { defineRoute, type RouteSpec } from '../route.js';
import {
  AckBody,
  CreateQueueBody,
  GrantParams,
  NackBody,
  NameParams,
  QueueGrantBody,
  ReceiveBody,
  SendBody,
  VisibilityBody,
} from '../schemas.js';
import { checkMessageSizes, parseSendBody } from './messages.js';

export function queueRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/queues',
      operationId: 'createQueue',
      summary: 'Create a queue owned by the caller; 409 if the name is taken',
      auth: true,
      kind: 'write',
      body: CreateQueueBody,
      success: 201,
      async handle({ user, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'queue.create',
          user,
          ...idempotencyField(idempotencyKey),
          name: body.name,
          visibilityTimeoutMs: body.visibilityTimeoutMs,
          retentionMs: body.retentionMs,
          ...(body.maxReceives != null && { maxReceives: body.maxReceives }),
          ...(body.deadLetterQueue != null && { deadLetterQueue: body.deadLetterQueue }),
        });
        return { status: 201, body: value };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/queues',
      operationId: 'listQueues',
      summary: 'The queues the caller owns or is granted',
      auth: true,
      kind: 'read',
      success: 200,
      async handle({ user }) {
        return { status: 200, body: unwrap(deps.broker.listQueues(user)) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/queues/:name',
      operationId: 'getQueue',
      summary: 'One queue with its stats',
      auth: true,
      kind: 'read',
      params: NameParams,
      success: 200,
      async handle({ user, params }) {
        return { status: 200, body: unwrap(deps.broker.getQueue(user, params.name)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/queues/:name',
      operationId: 'deleteQueue',
      summary: 'Delete a queue and its messages (owner)',
      auth: true,
      kind: 'write',
      params: NameParams,
      success: 204,
      async handle({ user, params, idempotencyKey }) {
        await commit(deps, { type: 'queue.delete', user, ...idempotencyField(idempotencyKey), queue: params.name });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/queues/:name/purge',
      operationId: 'purgeQueue',
      summary: 'Drop every message of a queue (owner)',
      auth: true,
      kind: 'write',
      params: NameParams,
      success: 200,
      async handle({ user, params, idempotencyKey }) {
        const value = await commit(deps, { type: 'queue.purge', user, ...idempotencyField(idempotencyKey), queue: params.name });
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/v1/queues/:name/grants/:username',
      operationId: 'grantQueue',
      summary: 'Set what another user may do with a queue: send and/or receive (owner)',
      auth: true,
      kind: 'write',
      params: GrantParams,
      body: QueueGrantBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'queue.grant',
          user,
          ...idempotencyField(idempotencyKey),
          queue: params.name,
          username: params.username,
          permissions: [...new Set(body.permissions)],
        });
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/queues/:name/grants/:username',
      operationId: 'revokeQueue',
      summary: "Remove a user's grant on a queue (owner)",
      auth: true,
      kind: 'write',
      params: GrantParams,
      success: 204,
      async handle({ user, params, idempotencyKey }) {
        await commit(deps, {
          type: 'queue.revoke',
          user,
          ...idempotencyField(idempotencyKey),
          queue: params.name,
          username: params.username,
        });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/queues/:name/messages',
      operationId: 'sendMessages',
      summary: 'Send one message, or a batch of up to 100 as {messages: [...]}',
      auth: true,
      kind: 'write',
      params: NameParams,
      body: SendBody,
      parseBody: parseSendBody,
      success: 201,
      check: checkMessageSizes,
      async handle({ user, params, body, idempotencyKey }) {
        const batch = 'messages' in body;
        const messages = batch ? body.messages : [body];
        const value = await commit(deps, {
          type: 'queue.send',
          user,
          ...idempotencyField(idempotencyKey),
          queue: params.name,
          messages,
          batch,
        });
        deps.metrics.sent('queue', messages.length);
        return { status: 201, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/queues/:name/receive',
      operationId: 'receiveMessages',
      summary: 'Lease up to `max` ready messages; waitMs > 0 long-polls until one is ready',
      auth: true,
      kind: 'write',
      params: NameParams,
      body: ReceiveBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey, signal }) {
        const answer = await receiveWithWait(deps, {
          target: `queue:${params.name}`,
          max: body.max,
          waitMs: body.waitMs,
          signal,
          propose: async (attempt) =>
            (await commit(deps, {
              type: 'queue.receive',
              user,
              // The broker keeps the first (empty) answer under the key: a long poll's
              // later receives are new commands of their own.
              ...(attempt === 0 ? idempotencyField(idempotencyKey) : {}),
              queue: params.name,
              max: body.max,
              ...(body.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: body.visibilityTimeoutMs }),
            })) as { messages: ReceivedView[] },
        });
        deps.metrics.received('queue', answer.messages.length);
        return { status: 200, body: answer };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/queues/:name/ack',
      operationId: 'ackMessages',
      summary: 'Delete received messages by receipt handle; stale handles come back as unknown',
      auth: true,
      kind: 'write',
      params: NameParams,
      body: AckBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = (await commit(deps, {
          type: 'queue.ack',
          user,
          ...idempotencyField(idempotencyKey),
          queue: params.name,
          receiptHandles: body.receiptHandles,
        })) as { acked: number };
        deps.metrics.acked('queue', value.acked);
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/queues/:name/nack',
      operationId: 'nackMessages',
      summary: 'Release received messages for redelivery, after delayMs',
      auth: true,
      kind: 'write',
      params: NameParams,
      body: NackBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'queue.nack',
          user,
          ...idempotencyField(idempotencyKey),
          queue: params.name,
          receiptHandles: body.receiptHandles,
          delayMs: body.delayMs,
        });
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/queues/:name/visibility',
      operationId: 'changeVisibility',
      summary: "Change a received message's visibility timeout",
      auth: true,
      kind: 'write',
      params: NameParams,
      body: VisibilityBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'queue.visibility',
          user,
          ...idempotencyField(idempotencyKey),
          queue: params.name,
          receiptHandle: body.receiptHandle,
          visibilityTimeoutMs: body.visibilityTimeoutMs,
        });
        return { status: 200, body: value };
      },
    }),
  ];
}

