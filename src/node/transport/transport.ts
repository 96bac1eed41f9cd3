import { readFileSync } from 'node:fs';
import {
  ChannelCredentials,
  Server,
  ServerCredentials,
  setLogger,
  type ServerReadableStream,
  type ServerUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { ClientError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { Message } from '../../raft/types.js';
import { ForwardError, ListenError } from '../errors.js';
import { GRPC_CHANNEL_OPTIONS, PeerLink } from './peer-link.js';
import { widenConnectionWindows, widenStreamWindows } from './flow-window.js';
import { PeerGuard, isRefused, type Refused } from './peer-guard.js';
import { RaftGrpcService, type WireBatch, type WireForwardRequest, type WireForwardResponse } from './wire.js';
import { markMessages } from '../latency-trace.js';

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface TransportOptions {
  nodeId: string;
  clusterId: string;
  clusterToken: string;
  listen: string;
  /** Every other node: its id and the gRPC address this node dials. */
  peers: { id: string; grpcAddress: string }[];
  tls?: TlsFiles;
  logger: Logger;
  /** Inbound Raft messages, already checked for cluster id/token. Must not block. */
  onMessages(messages: Message[]): void;
  /** Outbound traffic to `peerId` was dropped (down, or queue full). */
  onUnreachable(peerId: string): void;
  maxQueuedMessages?: number;
  maxQueuedBytes?: number;
  maxFrameBytes?: number;
}

/** Serves a relayed request; `signal` aborts when the relaying node cancels the call. */
export type ForwardHandler = (payload: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>;

/**
 * Node-to-node gRPC: a server receiving Raft frames and Forward calls, and one
 * PeerLink per peer for the way out.
 */
export class Transport {
  private readonly links = new Map<string, PeerLink>();
  private forwardHandler: ForwardHandler | undefined;
  private lastAuthWarning = 0;

  private constructor(
    private readonly opts: TransportOptions,
    private readonly server: Server,
    readonly port: number,
  ) {
    const credentials = opts.tls ? clientCredentials(opts.tls) : undefined;
    for (const peer of opts.peers) {
      if (peer.id === opts.nodeId) continue;
      this.links.set(
        peer.id,
        new PeerLink({
          selfId: opts.nodeId,
          peerId: peer.id,
          address: peer.grpcAddress,
          clusterId: opts.clusterId,
          clusterToken: opts.clusterToken,
          credentials,
          maxQueuedMessages: opts.maxQueuedMessages ?? 4096,
          maxQueuedBytes: opts.maxQueuedBytes ?? 64 * 1024 * 1024,
          maxFrameBytes: opts.maxFrameBytes ?? 4 * 1024 * 1024,
          onUnreachable: opts.onUnreachable,
          logger: opts.logger,
        }),
      );
    }
  }

  static async start(opts: TransportOptions): Promise<Transport> {
    // grpc-js prints its own diagnostics with console.error; keep every line JSON
    // (our callers report the failures that matter themselves).
    const debug = (...args: unknown[]) => opts.logger.debug({ grpc: args.map(String).join(' ') }, 'grpc-js');
    setLogger({ error: debug, info: debug, debug });
    // No SO_REUSEPORT (grpc-js sets it by default): a second node on the same port
    // must fail loudly, not silently share the traffic.
    const server = new Server({ ...GRPC_CHANNEL_OPTIONS, 'grpc.so_reuseport': 0 });
    let transport: Transport | undefined;
    // Requests are checked by the guard as they are deserialized: a refused one is never
    // decoded past its first three fields.
    const guard = new PeerGuard(opts.clusterId, opts.clusterToken, new Set(opts.peers.map((p) => p.id)));
    const guarded = {
      send: { ...RaftGrpcService.send, requestDeserialize: guard.deserializer(RaftGrpcService.send.requestDeserialize) },
      forward: { ...RaftGrpcService.forward, requestDeserialize: guard.deserializer(RaftGrpcService.forward.requestDeserialize) },
    } as const;
    const refused = (from: string, clusterId: string) => {
      transport?.warnAuth(from, clusterId);
      return { code: Status.UNAUTHENTICATED, details: 'wrong cluster id, cluster token or node id' };
    };
    // The Raft stream is read with a 'data' handler (grpc-js directly): each frame's
    // messages reach the core as the frame is read, with no async iteration between.
    const send = (call: ServerReadableStream<WireBatch | Refused, Record<string, never>>, done: sendUnaryData<Record<string, never>>) => {
      // The stream belongs to the node its first admitted frame names; every later
      // frame and every message in it must come from that node too.
      let peer: string | undefined;
      let ended = false;
      const end = (status: { code: Status; details: string } | null) => {
        if (ended) return;
        ended = true;
        if (status) done(status);
        else done(null, {});
      };
      call.on('data', (batch: WireBatch | Refused) => {
        if (ended) return;
        if (isRefused(batch)) return end(refused(batch.from, batch.clusterId));
        peer ??= batch.from;
        if (batch.from !== peer || batch.messages.some((m) => m.from !== peer)) {
          transport?.warnAuth(batch.from, batch.clusterId);
          return end({ code: Status.PERMISSION_DENIED, details: `a frame on ${peer}'s stream carries a message from another node` });
        }
        transport?.links.get(peer)?.notePeerAcceptsRecords(batch.acceptsEntryRecords === true);
        markMessages('frame.in', batch.messages);
        opts.onMessages(batch.messages);
      });
      call.on('end', () => end(null));
      // A peer that goes away cancels its stream: nothing to answer.
      call.on('error', () => {});
    };
    const forward = (call: ServerUnaryCall<WireForwardRequest | Refused, WireForwardResponse>, done: sendUnaryData<WireForwardResponse>) => {
      const req = call.request;
      if (isRefused(req)) return done(refused(req.from, req.clusterId));
      const handler = transport?.forwardHandler;
      if (!handler) return done({ code: Status.UNAVAILABLE, details: 'this node has no forward handler yet' });
      // The relaying node cancelled the call (its client went away, or its deadline passed).
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      handler(req.payload, cancelled.signal).then(
        (payload) => done(null, { payload }),
        (err: unknown) => done({ code: Status.INTERNAL, details: `forward handler failed: ${(err as Error).message}` }),
      );
    };
    server.addService(guarded, { send, forward });
    widenStreamWindows(server);
    let port: number;
    try {
      const credentials = opts.tls ? serverCredentials(opts.tls) : ServerCredentials.createInsecure();
      port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(opts.listen, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
      );
    } catch (err) {
      const msg = (err as Error).message;
      const inUse = /EADDRINUSE|address already in use|No address added/i.test(msg);
      throw new ListenError(
        inUse ? `gRPC listen address ${opts.listen} is already in use` : `cannot listen for gRPC on ${opts.listen}: ${msg}`,
        { cause: err },
      );
    }
    widenConnectionWindows(server);
    transport = new Transport(opts, server, port);
    return transport;
  }

  setForwardHandler(handler: ForwardHandler): void {
    this.forwardHandler = handler;
  }

  /** Queues each message on its peer's link; they go out in this turn (PeerLink.send). */
  send(messages: Message[]): void {
    for (const m of messages) this.links.get(m.to)?.send(m);
  }

  lastSentMs(peerId: string): number {
    return this.links.get(peerId)?.lastSentMs ?? 0;
  }

  async forward(to: string, payload: Uint8Array, timeoutMs: number, cancel?: AbortSignal): Promise<Uint8Array> {
    const link = this.links.get(to);
    if (!link) throw new ForwardError(`cannot forward to unknown node ${to}`);
    const deadline = Date.now() + timeoutMs;
    const request = { clusterId: this.opts.clusterId, clusterToken: this.opts.clusterToken, from: this.opts.nodeId, payload };
    try {
      for (;;) {
        try {
          const timeout = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
          const res = await link.grpcClient.forward(request, { signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout });
          return res.payload;
        } catch (err) {
          // Not connected (yet): the request never left, so trying again is safe.
          const neverSent = err instanceof ClientError && err.code === Status.UNAVAILABLE && /No connection established/.test(err.details);
          if (!neverSent || Date.now() + 50 >= deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } catch (err) {
      if (cancel?.aborted) throw new ForwardError(`forward to ${to} cancelled: the client went away`, { cause: err });
      if (err instanceof ClientError) throw new ForwardError(`forward to ${to} failed: ${err.details}`, { cause: err });
      if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') {
        throw new ForwardError(`forward to ${to} timed out after ${timeoutMs} ms`, { cause: err });
      }
      throw new ForwardError(`forward to ${to} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) link.close();
    // Streams from peers never end on their own: cut them after a short grace.
    const grace = setTimeout(() => this.server.forceShutdown(), 200);
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    clearTimeout(grace);
  }

  private warnAuth(from: string, clusterId: string): void {
    if (Date.now() - this.lastAuthWarning < 10_000) return;
    this.lastAuthWarning = Date.now();
    this.opts.logger.warn({ from, clusterId }, 'refused a peer RPC with a wrong cluster id, token or node id');
  }
}

function clientCredentials(tls: TlsFiles): ChannelCredentials {
  return ChannelCredentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert));
}

function serverCredentials(tls: TlsFiles): ServerCredentials {
  return ServerCredentials.createSsl(readFileSync(tls.ca), [{ private_key: readFileSync(tls.key), cert_chain: readFileSync(tls.cert) }], true);
}
