// The shapes of docs/API.md as the client sees them: answers are the broker's own result
// types, request bodies the input side of the API's zod schemas, so neither is declared
// twice. (Type-only imports: nothing of the broker or the API is loaded at run time.)
import type { z } from 'zod';
import type {
  AckBody, CreateQueueBody, CreateSubscriptionBody, CreateTopicBody, NackBody, PublishMessage, ReceiveBody, SendMessage,
} from '../api/schemas.js';
import type { NodeStatus } from '../node/raft-node.js';

export type {
  QueueStats, QueueView, ReceivedView, SentView, SubscriptionView, TopicView,
} from '../broker/results.js';

export type CreateQueueInput = z.input<typeof CreateQueueBody>;
export type CreateTopicInput = z.input<typeof CreateTopicBody>;
export type CreateSubscriptionInput = z.input<typeof CreateSubscriptionBody>;
export type SendMessageInput = z.input<typeof SendMessage>;
export type PublishMessageInput = z.input<typeof PublishMessage>;
export type ReceiveInput = z.input<typeof ReceiveBody>;
export type AckInput = z.input<typeof AckBody>;
export type NackInput = z.input<typeof NackBody>;

/** GET /v1/cluster. */
export type ClusterStatus = NodeStatus;

export type QueuePermission = 'send' | 'receive';
export type TopicPermission = 'publish' | 'subscribe';

export interface AckResult {
  acked: number;
  unknown: string[];
}

export interface NackResult {
  released: number;
  unknown: string[];
}

export interface LoginResult {
  token: string;
  expiresAt: string;
}
