// The /v1/topics rows of docs/API.md (Topics and subscriptions): topics, grants, publishing and subscriptions.
import { z } from 'zod';
import type { ReceivedView } from '../../broker/index.js';
import { commit, idempotencyField, unwrap, type ApiDeps } from '../deps.js';
import { receiveWithWait } from '../receive.js';
import { defineRoute, type RouteSpec } from '../route.js';
import {
  AckBody,
  CreateSubscriptionBody,
  CreateTopicBody,
  GrantParams,
  NackBody,
  NameParams,
  PublishBody,
  ReceiveBody,
  SubscriptionParams,
  TopicGrantBody,
  VisibilityBody,
} from '../schemas.js';
import { checkMessageSizes, parsePublishBody } from './messages.js';

/** docs/API.md lists a permissions body beside the DELETE too; accepted, and the whole grant goes. */
const RevokeTopicBody = z.strictObject({ permissions: TopicGrantBody.shape.permissions.optional() });

export function topicRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/topics',
      operationId: 'createTopic',
      summary: 'Create a topic owned by the caller; 409 if the name is taken',
      auth: true,
      kind: 'write',
      body: CreateTopicBody,
      success: 201,
      async handle({ user, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'topic.create',
          user,
          ...idempotencyField(idempotencyKey),
          name: body.name,
          public: body.public,
          retentionMs: body.retentionMs,
        });
        return { status: 201, body: value };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/topics',
      operationId: 'listTopics',
      summary: 'The topics the caller owns, is granted, or that are public',
      auth: true,
      kind: 'read',
      success: 200,
      async handle({ user }) {
        return { status: 200, body: unwrap(deps.broker.listTopics(user)) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/topics/:name',
      operationId: 'getTopic',
      summary: 'One topic',
      auth: true,
      kind: 'read',
      params: NameParams,
      success: 200,
      async handle({ user, params }) {
        return { status: 200, body: unwrap(deps.broker.getTopic(user, params.name)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/topics/:name',
      operationId: 'deleteTopic',
      summary: 'Delete a topic and its subscriptions (owner)',
      auth: true,
      kind: 'write',
      params: NameParams,
      success: 204,
      async handle({ user, params, idempotencyKey }) {
        await commit(deps, { type: 'topic.delete', user, ...idempotencyField(idempotencyKey), topic: params.name });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/v1/topics/:name/grants/:username',
      operationId: 'grantTopic',
      summary: 'Set what another user may do with a topic: publish and/or subscribe (owner)',
      auth: true,
      kind: 'write',
      params: GrantParams,
      body: TopicGrantBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'topic.grant',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          username: params.username,
          permissions: [...new Set(body.permissions)],
        });
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/topics/:name/grants/:username',
      operationId: 'revokeTopic',
      summary: "Remove a user's grant on a topic (owner)",
      auth: true,
      kind: 'write',
      params: GrantParams,
      body: RevokeTopicBody,
      success: 204,
      async handle({ user, params, idempotencyKey }) {
        await commit(deps, {
          type: 'topic.revoke',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          username: params.username,
        });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/topics/:name/messages',
      operationId: 'publishMessages',
      summary: 'Publish one message, or a batch of up to 100 as {messages: [...]}, to every subscription',
      auth: true,
      kind: 'write',
      params: NameParams,
      body: PublishBody,
      parseBody: parsePublishBody,
      success: 201,
      check: checkMessageSizes,
      async handle({ user, params, body, idempotencyKey }) {
        const batch = 'messages' in body;
        const messages = batch ? body.messages : [body];
        const value = await commit(deps, {
          type: 'topic.publish',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          messages,
          batch,
        });
        deps.metrics.sent('topic', messages.length);
        return { status: 201, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/topics/:name/subscriptions',
      operationId: 'createSubscription',
      summary: 'Create a durable subscription fed with every message published from now on',
      auth: true,
      kind: 'write',
      params: NameParams,
      body: CreateSubscriptionBody,
      success: 201,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'subscription.create',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          name: body.name,
          ackTimeoutMs: body.ackTimeoutMs,
          ...(body.maxDeliveries != null && { maxDeliveries: body.maxDeliveries }),
          ...(body.deadLetterQueue != null && { deadLetterQueue: body.deadLetterQueue }),
        });
        return { status: 201, body: value };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/topics/:name/subscriptions',
      operationId: 'listSubscriptions',
      summary: "The caller's subscriptions of a topic",
      auth: true,
      kind: 'read',
      params: NameParams,
      success: 200,
      async handle({ user, params }) {
        return { status: 200, body: unwrap(deps.broker.listSubscriptions(user, params.name)) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/topics/:name/subscriptions/:sub',
      operationId: 'deleteSubscription',
      summary: 'Delete a subscription (its owner)',
      auth: true,
      kind: 'write',
      params: SubscriptionParams,
      success: 204,
      async handle({ user, params, idempotencyKey }) {
        await commit(deps, {
          type: 'subscription.delete',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          subscription: params.sub,
        });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/topics/:name/subscriptions/:sub/receive',
      operationId: 'receiveSubscription',
      summary: 'Lease up to `max` messages of a subscription; waitMs > 0 long-polls',
      auth: true,
      kind: 'write',
      params: SubscriptionParams,
      body: ReceiveBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey, signal }) {
        const answer = await receiveWithWait(deps, {
          target: `sub:${params.name}/${params.sub}`,
          max: body.max,
          waitMs: body.waitMs,
          signal,
          propose: async (attempt) =>
            (await commit(deps, {
              type: 'subscription.receive',
              user,
              // The broker keeps the first (empty) answer under the key: a long poll's
              // later receives are new commands of their own.
              ...(attempt === 0 ? idempotencyField(idempotencyKey) : {}),
              topic: params.name,
              subscription: params.sub,
              max: body.max,
              ...(body.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: body.visibilityTimeoutMs }),
            })) as { messages: ReceivedView[] },
        });
        deps.metrics.received('subscription', answer.messages.length);
        return { status: 200, body: answer };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/topics/:name/subscriptions/:sub/ack',
      operationId: 'ackSubscription',
      summary: 'Acknowledge received subscription messages by receipt handle',
      auth: true,
      kind: 'write',
      params: SubscriptionParams,
      body: AckBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = (await commit(deps, {
          type: 'subscription.ack',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          subscription: params.sub,
          receiptHandles: body.receiptHandles,
        })) as { acked: number };
        deps.metrics.acked('subscription', value.acked);
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/topics/:name/subscriptions/:sub/nack',
      operationId: 'nackSubscription',
      summary: 'Release received subscription messages for redelivery, after delayMs',
      auth: true,
      kind: 'write',
      params: SubscriptionParams,
      body: NackBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'subscription.nack',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          subscription: params.sub,
          receiptHandles: body.receiptHandles,
          delayMs: body.delayMs,
        });
        return { status: 200, body: value };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/topics/:name/subscriptions/:sub/visibility',
      operationId: 'changeSubscriptionVisibility',
      summary: "Change a received subscription message's ack deadline",
      auth: true,
      kind: 'write',
      params: SubscriptionParams,
      body: VisibilityBody,
      success: 200,
      async handle({ user, params, body, idempotencyKey }) {
        const value = await commit(deps, {
          type: 'subscription.visibility',
          user,
          ...idempotencyField(idempotencyKey),
          topic: params.name,
          subscription: params.sub,
          receiptHandle: body.receiptHandle,
          visibilityTimeoutMs: body.visibilityTimeoutMs,
        });
        return { status: 200, body: value };
      },
    }),
  ];
}
