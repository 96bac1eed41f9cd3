// The /v1/topics rows of docs/API.md (Topics and subscriptions): topics, grants, publishing and subscriptions.
import { z } from 'zod';
import { subscriptionTarget } from '../../broker/index.js';
import { commit, idempotencyField, unwrap, type ApiDeps } from '../deps.js';
import { defineRoute, type RouteSpec } from '../route.js';
import {
  CreateSubscriptionBody,
  CreateTopicBody,
  NameParams,
  PublishBody,
  SubscriptionParams,
  TopicGrantBody,
} from '../schemas.js';
import { leaseRoutes } from './leases.js';
import { parsePublishBody } from './messages.js';
import { ownedRoutes } from './owned.js';

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
    ...ownedRoutes(deps, {
      kind: 'topic',
      path: '/v1/topics/:name',
      grant: {
        operationId: 'grantTopic',
        summary: 'Set what another user may do with a topic: publish and/or subscribe (owner)',
        body: TopicGrantBody,
      },
      revoke: { operationId: 'revokeTopic', summary: "Remove a user's grant on a topic (owner)", body: RevokeTopicBody },
      send: {
        operationId: 'publishMessages',
        summary: 'Publish one message, or a batch of up to 100 as {messages: [...]}, to every subscription',
        body: PublishBody,
        parseBody: parsePublishBody,
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
    ...leaseRoutes(deps, {
      kind: 'subscription',
      path: '/v1/topics/:name/subscriptions/:sub',
      params: SubscriptionParams,
      operationIds: { receive: 'receiveSubscription', ack: 'ackSubscription', nack: 'nackSubscription', visibility: 'changeSubscriptionVisibility' },
      summaries: {
        receive: 'Lease up to `max` messages of a subscription; waitMs > 0 long-polls',
        ack: 'Acknowledge received subscription messages by receipt handle',
        nack: 'Release received subscription messages for redelivery, after delayMs',
        visibility: "Change a received subscription message's ack deadline",
      },
      target: (params) => subscriptionTarget(params.name, params.sub),
      ref: (params) => ({ topic: params.name, subscription: params.sub }),
    }),
  ];
}
