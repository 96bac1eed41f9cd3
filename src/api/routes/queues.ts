// The /v1/queues rows of docs/API.md (Queues).
import { queueTarget } from '../../broker/index.js';
import { commit, idempotencyField, unwrap, type ApiDeps } from '../deps.js';
import { defineRoute, type RouteSpec } from '../route.js';
import {
  CreateQueueBody,
  NameParams,
  QueueGrantBody,
  SendBody,
} from '../schemas.js';
import { leaseRoutes } from './leases.js';
import { parseSendBody } from './messages.js';
import { ownedRoutes } from './owned.js';

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
    ...ownedRoutes(deps, {
      kind: 'queue',
      path: '/v1/queues/:name',
      grant: {
        operationId: 'grantQueue',
        summary: 'Set what another user may do with a queue: send and/or receive (owner)',
        body: QueueGrantBody,
      },
      revoke: { operationId: 'revokeQueue', summary: "Remove a user's grant on a queue (owner)" },
      send: {
        operationId: 'sendMessages',
        summary: 'Send one message, or a batch of up to 100 as {messages: [...]}',
        body: SendBody,
        parseBody: parseSendBody,
      },
    }),
    ...leaseRoutes(deps, {
      kind: 'queue',
      path: '/v1/queues/:name',
      params: NameParams,
      operationIds: { receive: 'receiveMessages', ack: 'ackMessages', nack: 'nackMessages', visibility: 'changeVisibility' },
      summaries: {
        receive: 'Lease up to `max` ready messages; waitMs > 0 long-polls until one is ready',
        ack: 'Delete received messages by receipt handle; stale handles come back as unknown',
        nack: 'Release received messages for redelivery, after delayMs',
        visibility: "Change a received message's visibility timeout",
      },
      target: (params) => queueTarget(params.name),
      ref: (params) => ({ queue: params.name }),
    }),
  ];
}

