import { Client as GrpcClient, Metadata, credentials as grpcCredentials, type ClientWritableStream } from '@grpc/grpc-js';
import { Status, createChannel, createClient, type Channel, type ChannelCredentials, type Client } from 'nice-grpc';
import type { Logger } from 'pino';
import type { Message } from '../../raft/types.js';
import { RaftGrpcService, RaftServiceDefinition, type WireBatch } from './wire.js';
import { markMessages } from '../latency-trace.js';

export interface PeerLinkOptions {
  selfId: string;
  peerId: string;
  address: string;
  clusterId: string;
  clusterToken: string;
  credentials?: ChannelCredentials;
  /** Messages (or bytes) queued beyond this are dropped and the peer reported unreachable. */
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  /** Entry/snapshot bytes per frame, so one frame stays well below the gRPC limit. */
  maxFrameBytes: number;
  onUnreachable(peerId: string): void;
  logger: Logger;
}

export const GRPC_CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': 256 * 1024 * 1024,
  'grpc.max_send_message_length': 256 * 1024 * 1024,
  // Notice a peer that stopped answering (SIGSTOP, cut link) instead of waiting on TCP.
  'grpc.keepalive_time_ms': 2000,
  'grpc.keepalive_timeout_ms': 2000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
};

/**
 * The Raft stream's own channel. grpc-js keeps every message of a call in a retry
 * buffer until the server answers (never, on this stream) or 256 KiB have gone, and
 * sends one message per completed write meanwhile; with no buffer the call commits at
 * its first message, so a frame goes straight to the HTTP/2 stream and its write
 * callback says when it has really left, which is what paces the link's frames.
 */
const STREAM_CHANNEL_OPTIONS = {
  ...GRPC_CHANNEL_OPTIONS,
  'grpc.enable_retries': 0,
  'grpc.per_rpc_retry_buffer_size': 0,
};

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;

/**
 * The outbound link to one peer: a bounded queue drained into one long-lived
 * client stream, written to grpc-js directly. What is sent in one task goes as one
 * frame, in the event-loop turn it was sent; while a frame is on its way, messages
 * queue and go together in the next one, so under load a link sends a frame per turn,
 * not per message. A slow peer costs only its own queue, and a down peer only its reconnect
 * attempts. Raft tolerates loss, so overflow and failures drop messages and report
 * the peer unreachable (the core then probes it gently).
 */
export class PeerLink {
  /** Forward calls (nice-grpc). */
  private readonly channel: Channel;
  private readonly client: Client<typeof RaftServiceDefinition>;
  /** The Raft stream (grpc-js, on its own channel: see STREAM_CHANNEL_OPTIONS). */
  private readonly streamClient: GrpcClient;
  private call: ClientWritableStream<WireBatch> | undefined;
  private queue: Message[] = [];
  private queuedBytes = 0;
  /** A frame is handed to grpc-js and not yet written to the connection. */
  private writing = false;
  /** A flush is queued as a microtask. */
  private flushQueued = false;
  /** Bumped when a stream ends, so its late write callbacks are ignored. */
  private generation = 0;
  private closed = false;
  private backoffMs = MIN_BACKOFF_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastErrorLog = 0;
  private lastContactMs = 0;
  /** The peer said it reads entries as records (see proto/raft.proto); until then, and
   *  again after its stream broke (it may have restarted on an older build), it gets
   *  them field by field. */
  private peerAcceptsRecords = false;

  constructor(private readonly opts: PeerLinkOptions) {
    this.channel = createChannel(opts.address, opts.credentials, GRPC_CHANNEL_OPTIONS);
    this.client = createClient(RaftServiceDefinition, this.channel);
    this.streamClient = new GrpcClient(opts.address, opts.credentials ?? grpcCredentials.createInsecure(), STREAM_CHANNEL_OPTIONS);
    this.openStream();
  }

  get grpcClient(): Client<typeof RaftServiceDefinition> {
    return this.client;
  }

  /** When a frame to this peer last went out on a healthy stream (ms since epoch; 0 = never). */
  get lastSentMs(): number {
    return this.lastContactMs;
  }

  /**
   * Queues `msg`. The queue is written at the end of the current task (a microtask), so
   * what is sent in one go shares a frame, and still leaves in this event-loop turn:
   * Node's HTTP/2 session writes to the socket only after the microtasks.
   */
  send(msg: Message): void {
    if (this.closed) return;
    const bytes = messageBytes(msg);
    if (
      this.call === undefined ||
      this.queue.length >= this.opts.maxQueuedMessages ||
      (this.queue.length > 0 && this.queuedBytes + bytes > this.opts.maxQueuedBytes)
    ) {
      this.opts.onUnreachable(this.opts.peerId);
      return;
    }
    this.queue.push(msg);
    this.queuedBytes += bytes;
    if (!this.flushQueued && !this.writing) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
  }

  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /**
   * Writes what is queued as one frame (up to maxFrameBytes), unless a frame is still
   * on its way: then the queue goes when that one has left.
   */
  private flush(): void {
    const call = this.call;
    if (call === undefined || this.writing || this.queue.length === 0) return;
    const { selfId, clusterId, clusterToken, maxFrameBytes } = this.opts;
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && (n === 0 || bytes < maxFrameBytes)) bytes += messageBytes(this.queue[n++]);
    const messages = n === this.queue.length ? this.queue : this.queue.slice(0, n);
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    this.queuedBytes = Math.max(0, this.queuedBytes - bytes);
    this.lastContactMs = Date.now();
    markMessages('frame.out', messages);
    this.writing = true;
    const generation = this.generation;
    call.write({ clusterId, clusterToken, from: selfId, messages, entriesAsRecords: this.peerAcceptsRecords }, () => {
      markMessages('frame.sent', messages);
      if (generation !== this.generation) return;
      this.writing = false;
      this.flush();
    });
  }

  /** What the peer's own frames say about the entry encoding it reads. */
  notePeerAcceptsRecords(accepts: boolean): void {
    this.peerAcceptsRecords = accepts;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.generation++;
    this.call?.cancel();
    this.call = undefined;
    this.queue = [];
    this.queuedBytes = 0;
    this.streamClient.close();
    this.channel.close();
  }

  private openStream(): void {
    if (this.closed) return;
    const started = Date.now();
    const generation = this.generation;
    const call = this.streamClient.makeClientStreamRequest<WireBatch, Record<string, never>>(
      RaftGrpcService.send.path,
      RaftGrpcService.send.requestSerialize,
      RaftGrpcService.send.responseDeserialize,
      new Metadata(),
      {},
      (err) => {
        if (generation === this.generation) this.streamEnded(err ?? undefined, started);
      },
    );
    // Errors come to the callback above; this keeps an 'error' event from throwing.
    call.on('error', () => {});
    this.call = call;
    this.writing = false;
  }

  private streamEnded(err: unknown, started: number): void {
    this.call = undefined;
    this.writing = false;
    this.peerAcceptsRecords = false;
    this.generation++;
    const dropped = this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.closed) return;
    // Frames already handed to the failed stream may be lost too: let the core know.
    if (dropped > 0 || err !== undefined) this.opts.onUnreachable(this.opts.peerId);
    if (Date.now() - this.lastErrorLog > 10_000) {
      this.lastErrorLog = Date.now();
      const { peerId: peer, address } = this.opts;
      const code = (err as { code?: unknown } | undefined)?.code;
      const details = (err as { details?: unknown } | undefined)?.details;
      if (code === Status.UNAUTHENTICATED) {
        this.opts.logger.error({ peer, address, err: details }, 'peer refused our cluster id/token (misconfigured cluster?)');
      } else {
        const detail = err instanceof Error ? err.message : 'stream closed';
        this.opts.logger.warn({ peer, address, err: detail }, 'link to peer down; reconnecting');
      }
    }
    // A stream that lived a while was healthy: start the backoff over.
    if (Date.now() - started > 2000) this.backoffMs = MIN_BACKOFF_MS;
    const delay = this.backoffMs * (0.5 + Math.random());
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => this.openStream(), delay);
  }
}

function messageBytes(m: Message): number {
  let n = 64 + (m.snapshot ? m.snapshot.data.length : 0);
  for (const e of m.entries) n += e.data.length + 24;
  return n;
}
