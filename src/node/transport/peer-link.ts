import { ClientError, Status, createChannel, createClient, type Channel, type ChannelCredentials, type Client } from 'nice-grpc';
import type { Logger } from 'pino';
import type { Message } from '../../raft/types.js';
import { RaftServiceDefinition } from './wire.js';
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

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;

/**
 * The outbound link to one peer: a bounded queue drained into one long-lived
 * client stream. Messages are batched into frames while the stream is busy, so a
 * slow peer costs only its own queue, and a down peer only its reconnect attempts.
 * Raft tolerates loss, so overflow and failures drop messages and report the peer
 * unreachable (the core then probes it gently).
 */
export class PeerLink {
  private readonly channel: Channel;
  private readonly client: Client<typeof RaftServiceDefinition>;
  private queue: Message[] = [];
  private queuedBytes = 0;
  /** Resolves the stream's wait for the next message. */
  private wake: (() => void) | undefined;
  private streamAlive = false;
  /** Bumped when a stream ends, so its frame generator stops. */
  private generation = 0;
  private closed = false;
  private backoffMs = MIN_BACKOFF_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private lastErrorLog = 0;
  private lastContactMs = 0;
  /** The peer said it reads entries as records (see proto/raft.proto); until then, and
   *  again after its stream broke (it may have restarted on an older build), it gets
   *  them field by field. */
  private peerAcceptsRecords = false;

  constructor(private readonly opts: PeerLinkOptions) {
    this.channel = createChannel(opts.address, opts.credentials, GRPC_CHANNEL_OPTIONS);
    this.client = createClient(RaftServiceDefinition, this.channel);
    this.openStream();
  }

  get grpcClient(): Client<typeof RaftServiceDefinition> {
    return this.client;
  }

  /** When a frame to this peer last went out on a healthy stream (ms since epoch; 0 = never). */
  get lastSentMs(): number {
    return this.lastContactMs;
  }

  send(msg: Message): void {
    if (this.closed) return;
    const bytes = messageBytes(msg);
    if (
      !this.streamAlive ||
      this.queue.length >= this.opts.maxQueuedMessages ||
      (this.queue.length > 0 && this.queuedBytes + bytes > this.opts.maxQueuedBytes)
    ) {
      this.opts.onUnreachable(this.opts.peerId);
      return;
    }
    this.queue.push(msg);
    this.queuedBytes += bytes;
    if (this.wake) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
  }

  /** What the peer's own frames say about the entry encoding it reads. */
  notePeerAcceptsRecords(accepts: boolean): void {
    this.peerAcceptsRecords = accepts;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.abort.abort();
    this.queue = [];
    this.queuedBytes = 0;
    this.wake?.();
    this.channel.close();
  }

  private openStream(): void {
    if (this.closed) return;
    this.abort = new AbortController();
    this.streamAlive = true;
    const started = Date.now();
    this.client.send(this.frames(this.generation), { signal: this.abort.signal }).then(
      () => this.streamEnded(undefined, started),
      (err: unknown) => this.streamEnded(err, started),
    );
  }

  private async *frames(generation: number) {
    const { selfId, clusterId, clusterToken, maxFrameBytes } = this.opts;
    while (!this.closed && generation === this.generation) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      let n = 0;
      let bytes = 0;
      while (n < this.queue.length && (n === 0 || bytes < maxFrameBytes)) bytes += messageBytes(this.queue[n++]);
      const messages = n === this.queue.length ? this.queue : this.queue.slice(0, n);
      this.queue = n === this.queue.length ? [] : this.queue.slice(n);
      this.queuedBytes = Math.max(0, this.queuedBytes - bytes);
      this.lastContactMs = Date.now();
      markMessages('frame.out', messages);
      yield { clusterId, clusterToken, from: selfId, messages, entriesAsRecords: this.peerAcceptsRecords };
    }
  }

  private streamEnded(err: unknown, started: number): void {
    this.streamAlive = false;
    this.peerAcceptsRecords = false;
    this.generation++;
    const dropped = this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.wake) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
    if (this.closed) return;
    // Frames already handed to the failed stream may be lost too: let the core know.
    if (dropped > 0 || err !== undefined) this.opts.onUnreachable(this.opts.peerId);
    if (Date.now() - this.lastErrorLog > 10_000) {
      this.lastErrorLog = Date.now();
      const { peerId: peer, address } = this.opts;
      if (err instanceof ClientError && err.code === Status.UNAUTHENTICATED) {
        this.opts.logger.error({ peer, address, err: err.details }, 'peer refused our cluster id/token (misconfigured cluster?)');
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
