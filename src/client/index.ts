// The client library's public surface (package export "./client"); docs/CLIENT.md.
export { MomClient, type MomClientOptions } from './client.js';
export { RestClient, parseJson, type RestOptions, type RestRequest } from './rest.js';
export { HttpTransport, type Exchange, type HttpMethod, type PoolShape, type Reply, type TransportOptions } from './http.js';
export { Endpoints } from './endpoints.js';
export { QueueClient } from './queues.js';
export { TopicClient, SubscriptionClient } from './topics.js';
export { Inbox, type CallOptions } from './inbox.js';
export { type ConsumeOptions, type Delivery } from './consume.js';
export { SendBatcher, type BatchOptions, type BatchSender } from './batcher.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { MomApiError, MomConnectionError, MomRetriesExhaustedError, type MomErrorCode } from './errors.js';
export type * from './types.js';
export {
  StreamClient,
  StreamConsumer,
  StreamRequestError,
  StreamClosedError,
  type StreamClientOptions,
  type StreamClientState,
  type StreamConsumerState,
  type StreamTarget,
  type ConsumeOptions as StreamConsumeOptions,
  type Delivery as StreamDelivery,
  type AckAnswer,
  type NackAnswer,
} from './stream.js';
