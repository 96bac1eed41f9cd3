// The stream's wire contract (docs/STREAM.md): JSON text frames, close codes and limits.
// Shared by the server (src/api/stream) and the client (src/client/stream.ts), so this
// file imports types and the broker's limits only.
import { PRODUCER_WINDOW } from '../../broker/limits.js';
import type { ReceivedView } from '../../broker/results.js';

export const STREAM_PATH = '/v1/stream';

/** Close codes of a stream. 4xxx codes are ours (RFC 6455 leaves 4000-4999 to
 *  applications); each mirrors the HTTP status of the same meaning. */
export const CLOSE = {
  /** The client closed, or the server after a client's close. */
  normal: 1000,
  /** The server is shutting down: reconnect to any node. */
  goingAway: 1001,
  /** A binary frame: the stream speaks JSON text frames only. */
  unsupportedData: 1003,
  /** A frame larger than maxFrameBytes (sent by the ws library). */
  tooBig: 1009,
  /** A bug on the server. */
  internal: 1011,
  /** A frame that is not a JSON object with a known `op` (and an id where one is needed). */
  protocolError: 4400,
  /** No valid token: a request before `auth`, a refused or late `auth` frame, or a token
   *  that expired and was not renewed within the grace period. Log in again, reconnect. */
  unauthorized: 4401,
  /** This node stopped being the leader (or never learned one). The close reason is the
   *  new leader's URL when known, else empty: reconnect there (or to any node) and resend
   *  every unconfirmed request. */
  leaderChanged: 4503,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** Close codes after which a client reconnects and resumes on its own. */
export const RECONNECTABLE: ReadonlySet<number> = new Set([CLOSE.goingAway, CLOSE.leaderChanged, 1005, 1006]);

export const STREAM_LIMITS = {
  /** Largest frame accepted: REST's request limit plus the envelope. */
  maxFrameBytes: 1024 * 1024 + 4096,
  /** Requests (any but consume) a connection may have unanswered before the server stops
   *  reading from it: a producer's window, so that every frame a client may resend is
   *  still answered from it (docs/STREAM.md, Producers). */
  maxUnconfirmed: PRODUCER_WINDOW,
  /** Bytes queued for the client above which the server stops reading requests and
   *  pushing deliveries until the client catches up. */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** Consumers per connection. */
  maxConsumers: 64,
  /** Largest prefetch (credit) of one consumer. */
  maxPrefetch: 1000,
  /** Default prefetch when `consume` names none. */
  defaultPrefetch: 100,
  /** Milliseconds a connection without an Authorization header has to send `auth`. */
  authTimeoutMs: 10_000,
  /** Milliseconds after its token expired that a connection has to send a fresh `auth`. */
  authGraceMs: 30_000,
  /** Request ids: a string of at most this many characters, or a safe integer. */
  maxIdLength: 64,
} as const;

export type RequestId = string | number;

/** Where a consumer, an ack, a nack or an extend points: a queue, or a subscription. */
export type StreamTarget = { queue: string } | { topic: string; subscription: string };

export interface MessageInput {
  body: string;
  attributes?: Record<string, string>;
  delayMs?: number;
  deduplicationId?: string;
}

// ---- client -> server ----------------------------------------------------------------

export interface AuthFrame {
  op: 'auth';
  id?: RequestId;
  token: string;
}

/** A send's or publish's producer (docs/STREAM.md, Producers): the client's producer id
 *  and this frame's sequence, one more than the previous frame's. */
export interface ProducerFields {
  producer?: string;
  seq?: number;
}

export type SendFrame = {
  op: 'send';
  id: RequestId;
  queue: string;
  idempotencyKey?: string;
} & ProducerFields & ({ message: MessageInput } | { messages: MessageInput[] });

export type PublishFrame = {
  op: 'publish';
  id: RequestId;
  topic: string;
  idempotencyKey?: string;
} & ProducerFields & ({ message: Omit<MessageInput, 'delayMs'> } | { messages: Array<Omit<MessageInput, 'delayMs'>> });

export type ConsumeFrame = {
  op: 'consume';
  id: RequestId;
  prefetch?: number;
  visibilityTimeoutMs?: number;
} & StreamTarget;

export interface CancelFrame {
  op: 'cancel';
  id: RequestId;
  consumer: RequestId;
}

export type AckFrame = { op: 'ack'; id: RequestId; receiptHandles: string[]; idempotencyKey?: string } & StreamTarget;
export type NackFrame = { op: 'nack'; id: RequestId; receiptHandles: string[]; delayMs?: number; idempotencyKey?: string } & StreamTarget;
export type ExtendFrame = { op: 'extend'; id: RequestId; receiptHandle: string; visibilityTimeoutMs: number; idempotencyKey?: string } & StreamTarget;

export type ClientFrame = AuthFrame | SendFrame | PublishFrame | ConsumeFrame | CancelFrame | AckFrame | NackFrame | ExtendFrame;

// ---- server -> client ----------------------------------------------------------------

export interface ErrorBody {
  code: string;
  message: string;
  details: unknown;
}

/** A request's success: `status` and `body` are what the REST route answers. */
export interface OkFrame {
  op: 'ok';
  id: RequestId;
  status: number;
  body?: unknown;
}

/** A request's failure, with REST's status and error body. */
export interface ErrorFrame {
  op: 'error';
  id: RequestId;
  status: number;
  error: ErrorBody;
}

/** A delivered message is what a REST receive answers for it (docs/API.md `Received`). */
export type DeliveredMessage = ReceivedView;

/** Messages leased to a consumer (named by its consume request's id). */
export interface DeliverFrame {
  op: 'deliver';
  consumer: RequestId;
  messages: DeliveredMessage[];
}

/** A consumer stopped: cancelled (`error` null) or its queue or grant went away. */
export interface EndFrame {
  op: 'end';
  consumer: RequestId;
  error: ErrorBody | null;
}

/** The token expired: send a fresh `auth` within graceMs or the stream closes 4401. */
export interface AuthExpiredFrame {
  op: 'auth_expired';
  graceMs: number;
}

/** The connection is authenticated (after an Authorization header or an `auth` frame). */
export interface ReadyFrame {
  op: 'ready';
  id?: RequestId;
  user: string;
  node: string;
  expiresAt: string;
  limits: { maxUnconfirmed: number; maxPrefetch: number; maxConsumers: number };
}

export type ServerFrame = OkFrame | ErrorFrame | DeliverFrame | EndFrame | AuthExpiredFrame | ReadyFrame;
