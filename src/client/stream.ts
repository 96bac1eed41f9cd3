// A typed client of the stream (docs/STREAM.md): one WebSocket to the leader carrying
// sends and publishes confirmed one by one, consumers fed by the server with a credit
// window, and acks, nacks and extends. It finds the leader from any node (following the
// upgrade's 307), and when the stream closes with leaderChanged, goingAway or a dropped
// connection it reconnects and resumes: every unconfirmed request is sent again in its
// first order, sends and publishes with their producer sequence (or the resend guard the
// caller chose), so nothing is applied twice; consumers start again, and what was leased
// to the old connection comes back when its lease ends.
import { randomBytes } from 'node:crypto';
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import WebSocket from 'ws';
import { PRODUCER_WINDOW } from '../broker/limits.js';
import type { SentView } from '../broker/results.js';
import { MomApiError } from './errors.js';
import {
  CLOSE,
  RECONNECTABLE,
  STREAM_PATH,
  type DeliveredMessage,
  type ErrorBody,
  type MessageInput,
  type RequestId,
  type ServerFrame,
  type StreamTarget,
} from '../api/stream/protocol.js';

export type { DeliveredMessage, MessageInput, StreamTarget };

export interface StreamClientOptions {
  /** Base URLs of any nodes (http:// or ws://); the client finds the leader. */
  urls: readonly string[];
  /** A JWT, or a function giving a fresh one (called again when the token expires). */
  token: string | (() => string | Promise<string>);
  /** Requests sent and not yet answered; send() waits for room beyond it. Default 256;
   *  with the 'producer' guard at most a producer's window (1,024). */
  maxUnconfirmed?: number;
  /** What keeps a send or publish resent after a reconnect from being applied twice,
   *  when the caller gave no key of its own:
   *  - 'producer' (default): the client is a producer with a random id for its
   *    lifetime, and numbers its send and publish frames; a resent frame that was
   *    applied before is answered with its first ids and `deduplicated: true`
   *    (docs/STREAM.md, Producers). The server commits such frames in batches and
   *    keeps a bounded window per producer, whatever the message rate.
   *  - 'deduplicationId': each message without one gets a generated deduplicationId,
   *    which every node remembers for 5 minutes (memory grows with the rate).
   *  - 'idempotencyKey': each frame gets a generated Idempotency-Key (the first answer is
   *    replayed), at one log entry per frame.
   *  - 'none': a resend may store a message twice. */
  resendGuard?: ResendGuard;
  /** Give up when no leader could be reached for this long. Default 60 s. */
  reconnectDeadlineMs?: number;
  /** Acks and nacks of one target made in the same turn of the event loop go out as one
   *  request (up to 100 handles). Default true. */
  batchAcks?: boolean;
  /** A stream that shows no sign of life (no frame, no pong to our pings) for this long
   *  is dropped and opened again: a node that hangs (paused, partitioned from the
   *  client) never closes it. Default 10 s. */
  heartbeatMs?: number;
}

export type ResendGuard = 'producer' | 'deduplicationId' | 'idempotencyKey' | 'none';

/** A request the broker answered with an error over the stream: the same error (code,
 *  status, details) a REST call gets as MomApiError, so one catch serves both. */
export class StreamRequestError extends MomApiError {
  override readonly name: string = 'StreamRequestError';
}

/** The stream ended for good (closed by the caller, refused, or no leader in time). */
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError';
  constructor(
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(`stream closed (${closeCode}${reason ? `: ${reason}` : ''})`);
  }
}

export interface AckAnswer {
  acked: number;
  unknown: string[];
}

export interface NackAnswer {
  released: number;
  unknown: string[];
}

export interface Delivery extends DeliveredMessage {
  /** Deletes the message; false when its lease had already ended (the handle is stale). */
  ack(): Promise<boolean>;
  /** Releases it for redelivery after delayMs; false when the handle is stale. */
  nack(delayMs?: number): Promise<boolean>;
  /** Sets its lease to end visibilityTimeoutMs from now. */
  extend(visibilityTimeoutMs: number): Promise<void>;
}

export interface ConsumeOptions {
  /** Deliveries not yet acked or nacked the server may push. Default 100. */
  prefetch?: number;
  visibilityTimeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  id: RequestId;
  frame: Record<string, unknown>;
  text: string;
  resolve(body: unknown): void;
  reject(err: Error): void;
  /** Counts against maxUnconfirmed. */
  counted: boolean;
  /** When the request was made (Date.now()), for StreamClientState. */
  madeAt: number;
}

/** A snapshot of a client for diagnosing a stream that stopped making progress (a run
 *  that hangs dumps it): its connection, what it waits for, and when frames last moved. */
export interface StreamClientState {
  node: string | undefined;
  socket: 'none' | 'connecting' | 'open' | 'closing' | 'closed';
  /** Open, and everything pending was sent on it. */
  live: boolean;
  reconnecting: boolean;
  reconnects: number;
  /** Why the client gave up, once it has. */
  closed?: string;
  pending: number;
  unconfirmed: number;
  maxUnconfirmed: number;
  /** Requests waiting for room under maxUnconfirmed. */
  waitingForRoom: number;
  oldestPending?: { id: RequestId; op: string; ageMs: number };
  msSinceConnected?: number;
  msSinceFrameIn?: number;
  msSinceFrameOut?: number;
  consumers: StreamConsumerState[];
}

export interface StreamConsumerState {
  id: RequestId;
  target: StreamTarget;
  prefetch: number | undefined;
  started: boolean;
  ended: boolean;
  cancelled: boolean;
  delivered: number;
  /** Deliveries whose ack or nack was answered (or failed). */
  settled: number;
  /** Delivered, not yet iterated by the caller. */
  buffered: number;
  msSinceDelivery?: number;
}

const RATE_LIMIT_RETRY_MS = 50;
const MAX_ACK_BATCH = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function streamUrl(base: string): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (!url.pathname.endsWith(STREAM_PATH)) url.pathname = url.pathname.replace(/\/+$/, '') + STREAM_PATH;
  return url.toString();
}

const targetKey = (t: StreamTarget): string => ('queue' in t ? `q\n${t.queue}` : `s\n${t.topic}\n${t.subscription}`);

/** The answer to one connection attempt. */
type Attempt = { ws: WebSocket } | { redirect: string } | { retry: string } | { fatal: StreamClosedError };

export class StreamClient {
  private ws: WebSocket | undefined;
  /** The socket under `ws`, corked while a turn's frames are written. */
  private socket: Socket | undefined;
  private outbox: string[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private readonly keyPrefix = randomBytes(9).toString('base64url');
  private readonly pending = new Map<RequestId, Pending>();
  private readonly consumers = new Map<RequestId, StreamConsumer>();
  private unconfirmed = 0;
  private roomWaiters: Array<() => void> = [];
  private closedError: StreamClosedError | undefined;
  private leaderHint: string | undefined;
  private connecting: Promise<void> | undefined;
  /** The socket is open and everything pending was sent on it: new frames go out at once. */
  private live = false;
  private readonly ackBatches = new Map<string, { op: 'ack' | 'nack'; target: StreamTarget; delayMs: number; items: Array<{ handle: string; resolve(ok: boolean): void; reject(err: Error): void }> }>();
  private ackFlushScheduled = false;
  /** How many times the stream was opened again after a break. */
  reconnects = 0;
  /** The node serving the stream now. */
  node: string | undefined;
  private readonly maxUnconfirmed: number;
  private lastFrameInAt = 0;
  private lastFrameOutAt = 0;
  private readonly guard: ResendGuard;
  /** This client's producer id: the same for every frame it sends, across reconnects. */
  readonly producerId = randomBytes(16).toString('base64url');
  /** The sequence the next send or publish frame gets. */
  private nextSeq = 0;
  /** Sequences sent and not answered yet, oldest first (they are added in order). */
  private readonly unansweredSeqs = new Set<number>();

  private constructor(private readonly opts: StreamClientOptions) {
    if (opts.urls.length === 0) throw new Error('StreamClient needs at least one URL');
    this.guard = opts.resendGuard ?? 'producer';
    const max = opts.maxUnconfirmed ?? 256;
    // A frame resent after a break must still be in its producer's window: never more
    // frames out than the window holds.
    this.maxUnconfirmed = this.guard === 'producer' ? Math.min(max, PRODUCER_WINDOW) : max;
  }

  /** Opens a stream to the leader (found from any of `urls`). */
  static async connect(opts: StreamClientOptions): Promise<StreamClient> {
    const client = new StreamClient(opts);
    await client.reconnect(false);
    return client;
  }

  // ---- operations ------------------------------------------------------------------

  /** Sends one message ({id, deduplicated}) or a batch ([{id, deduplicated}, ...]). */
  send(queue: string, message: MessageInput, opts?: { idempotencyKey?: string }): Promise<SentView>;
  send(queue: string, messages: MessageInput[], opts?: { idempotencyKey?: string }): Promise<SentView[]>;
  async send(queue: string, message: MessageInput | MessageInput[], opts: { idempotencyKey?: string } = {}): Promise<SentView | SentView[]> {
    return this.write('send', { queue }, message, opts.idempotencyKey);
  }

  publish(topic: string, message: Omit<MessageInput, 'delayMs'>, opts?: { idempotencyKey?: string }): Promise<SentView>;
  publish(topic: string, messages: Array<Omit<MessageInput, 'delayMs'>>, opts?: { idempotencyKey?: string }): Promise<SentView[]>;
  async publish(topic: string, message: MessageInput | MessageInput[], opts: { idempotencyKey?: string } = {}): Promise<SentView | SentView[]> {
    return this.write('publish', { topic }, message, opts.idempotencyKey);
  }

  private async write(op: 'send' | 'publish', where: Record<string, string>, message: MessageInput | MessageInput[], key: string | undefined): Promise<SentView | SentView[]> {
    const batch = Array.isArray(message);
    const guard = this.guard;
    const idempotencyKey = key ?? (guard === 'idempotencyKey' ? this.generatedKey() : undefined);
    if (key === undefined && guard === 'deduplicationId') {
      const withId = (m: MessageInput): MessageInput => (m.deduplicationId !== undefined ? m : { ...m, deduplicationId: this.generatedKey() });
      message = Array.isArray(message) ? message.map(withId) : withId(message);
    }
    const frame = { op, ...where, ...(idempotencyKey !== undefined && { idempotencyKey }), ...(batch ? { messages: message } : { message }) };
    const body = await this.request(frame, true, key === undefined && guard === 'producer');
    return batch ? (body as { messages: SentView[] }).messages : (body as SentView);
  }

  private keySeq = 0;

  /** Unique to this client: a random prefix and a counter. */
  private generatedKey(): string {
    return `${this.keyPrefix}.${++this.keySeq}`;
  }

  /** An ack, nack or extend resent after a reconnect must answer as the first did (an
   *  ack applied before the break would otherwise come back `unknown`): each carries a
   *  generated Idempotency-Key unless resendGuard is 'none'. */
  private settleKey(): { idempotencyKey?: string } {
    return this.guard === 'none' ? {} : { idempotencyKey: this.generatedKey() };
  }

  ack(target: StreamTarget, receiptHandles: string[]): Promise<AckAnswer> {
    return this.request({ op: 'ack', ...target, receiptHandles, ...this.settleKey() }, true) as Promise<AckAnswer>;
  }

  nack(target: StreamTarget, receiptHandles: string[], delayMs = 0): Promise<NackAnswer> {
    return this.request({ op: 'nack', ...target, receiptHandles, delayMs, ...this.settleKey() }, true) as Promise<NackAnswer>;
  }

  async extend(target: StreamTarget, receiptHandle: string, visibilityTimeoutMs: number): Promise<void> {
    await this.request({ op: 'extend', ...target, receiptHandle, visibilityTimeoutMs, ...this.settleKey() }, true);
  }

  /** Messages of a queue or subscription as they become ready; ack or nack each one. */
  consume(target: StreamTarget, opts: ConsumeOptions = {}): StreamConsumer {
    if (this.closedError) throw this.closedError;
    const consumer = new StreamConsumer(this, this.nextId++, target, opts);
    this.consumers.set(consumer.id, consumer);
    this.sendText(consumer.frameText());
    return consumer;
  }

  /** Closes the stream after the requests made so far are answered (or drainMs passed);
   *  any still unanswered then fail with StreamClosedError. */
  async close(drainMs = 5_000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.pending.size > 0 && !this.closedError && Date.now() < deadline) await sleep(5);
    const ws = this.ws;
    this.fail(new StreamClosedError(CLOSE.normal, 'closed by the client'));
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(CLOSE.normal);
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2_000).unref();
      });
    }
  }

  /** Where the client stands now (see StreamClientState). */
  debugState(): StreamClientState {
    const now = Date.now();
    const since = (t: number): number | undefined => (t === 0 ? undefined : now - t);
    const oldest = this.pending.values().next().value;
    const ws = this.ws;
    const socket = !ws ? 'none' : (['connecting', 'open', 'closing', 'closed'] as const)[ws.readyState];
    return {
      node: this.node,
      socket,
      live: this.live,
      reconnecting: this.connecting !== undefined,
      reconnects: this.reconnects,
      ...(this.closedError && { closed: this.closedError.message }),
      pending: this.pending.size,
      unconfirmed: this.unconfirmed,
      maxUnconfirmed: this.maxUnconfirmed,
      waitingForRoom: this.roomWaiters.length,
      ...(oldest && { oldestPending: { id: oldest.id, op: String(oldest.frame.op), ageMs: now - oldest.madeAt } }),
      msSinceConnected: since(this.connectedAt),
      msSinceFrameIn: since(this.lastFrameInAt),
      msSinceFrameOut: since(this.lastFrameOutAt),
      consumers: [...this.consumers.values()].map((c) => c.debugState(now)),
    };
  }

  // ---- requests ----------------------------------------------------------------------

  /** `sequenced`: a send or publish that carries this client's producer id and the next
   *  sequence, taken once there is room (so the frames out never span more than the
   *  window). */
  private async request(fields: Record<string, unknown>, counted: boolean, sequenced = false): Promise<unknown> {
    this.throwIfClosed();
    if (counted) {
      let waited = false;
      while (this.unconfirmed >= this.maxUnconfirmed || (sequenced && this.seqSpanFull())) {
        // Woken but still without room: first in line again, so sends keep their order.
        await new Promise<void>((resolve) => (waited ? this.roomWaiters.unshift(resolve) : this.roomWaiters.push(resolve)));
        waited = true;
        this.throwIfClosed();
      }
      this.unconfirmed++;
    }
    const id = this.nextId++;
    let frame: Record<string, unknown>;
    if (sequenced) {
      const seq = this.nextSeq++;
      this.unansweredSeqs.add(seq);
      frame = { ...fields, producer: this.producerId, seq, id };
    } else frame = { ...fields, id };
    return new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { id, frame, text: JSON.stringify(frame), resolve, reject, counted, madeAt: Date.now() };
      this.pending.set(id, entry);
      this.sendText(entry.text);
    });
  }

  private throwIfClosed(): void {
    if (this.closedError) throw this.closedError;
  }

  /** Whether the next sequence would lie a window or more past the oldest unanswered
   *  one: that one, resent after a break, would no longer be answered from the window.
   *  (Later frames may be answered first: relayed frames commit in any order.) */
  private seqSpanFull(): boolean {
    const oldest = this.unansweredSeqs.values().next();
    return !oldest.done && this.nextSeq - oldest.value >= PRODUCER_WINDOW;
  }

  private settle(entry: Pending): void {
    if (typeof entry.frame.seq === 'number') this.unansweredSeqs.delete(entry.frame.seq);
    this.pending.delete(entry.id);
    if (!entry.counted) return;
    this.unconfirmed--;
    this.roomWaiters.shift()?.();
  }

  /** Writes if the stream is open, with the other frames of this turn of the event loop
   *  in one socket write; otherwise the frame goes out after reconnecting (every pending
   *  request and consumer is sent again then). */
  private sendText(text: string): void {
    if (!this.live) return;
    this.outbox.push(text);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const frames = this.outbox;
    this.outbox = [];
    const ws = this.ws;
    if (!this.live || !ws || ws.readyState !== WebSocket.OPEN) return;
    this.socket?.cork();
    for (const text of frames) ws.send(text);
    this.socket?.uncork();
    this.lastFrameOutAt = Date.now();
  }

  // ---- acks in batches -------------------------------------------------------------

  /** One delivery's ack or nack, joined with others of its target made in this turn. */
  settleDelivery(op: 'ack' | 'nack', target: StreamTarget, handle: string, delayMs = 0): Promise<boolean> {
    if (this.opts.batchAcks === false) {
      const sent = op === 'ack' ? this.ack(target, [handle]) : this.nack(target, [handle], delayMs);
      return sent.then((a) => a.unknown.length === 0);
    }
    const key = `${op}\n${delayMs}\n${targetKey(target)}`;
    return new Promise<boolean>((resolve, reject) => {
      let batch = this.ackBatches.get(key);
      if (!batch) {
        batch = { op, target, delayMs, items: [] };
        this.ackBatches.set(key, batch);
      }
      batch.items.push({ handle, resolve, reject });
      if (batch.items.length >= MAX_ACK_BATCH) this.flushAckBatch(key);
      else if (!this.ackFlushScheduled) {
        this.ackFlushScheduled = true;
        setImmediate(() => {
          this.ackFlushScheduled = false;
          for (const k of [...this.ackBatches.keys()]) this.flushAckBatch(k);
        });
      }
    });
  }

  private flushAckBatch(key: string): void {
    const batch = this.ackBatches.get(key);
    if (!batch) return;
    this.ackBatches.delete(key);
    const handles = batch.items.map((i) => i.handle);
    const sent = batch.op === 'ack' ? this.ack(batch.target, handles) : this.nack(batch.target, handles, batch.delayMs);
    sent.then(
      (answer) => {
        const stale = new Set(answer.unknown);
        for (const item of batch.items) item.resolve(!stale.has(item.handle));
      },
      (err: Error) => {
        for (const item of batch.items) item.reject(err);
      },
    );
  }

  // ---- frames in -------------------------------------------------------------------

  private onFrame(text: string): void {
    const frame = JSON.parse(text) as ServerFrame;
    switch (frame.op) {
      case 'ok': {
        const consumer = this.consumers.get(frame.id);
        if (consumer) {
          consumer.onStarted();
          return;
        }
        const entry = this.pending.get(frame.id);
        if (!entry) return;
        this.settle(entry);
        entry.resolve(frame.body);
        return;
      }
      case 'error': {
        const consumer = this.consumers.get(frame.id);
        if (consumer) {
          this.consumers.delete(frame.id);
          consumer.onEnd(errorOf(frame.status, frame.error));
          return;
        }
        const entry = this.pending.get(frame.id);
        if (!entry) return;
        if (frame.status === 429) {
          // The leader's proposal queue is full: the same request again, shortly.
          setTimeout(() => {
            if (this.pending.get(entry.id) === entry) this.sendText(entry.text);
          }, RATE_LIMIT_RETRY_MS);
          return;
        }
        this.settle(entry);
        entry.reject(errorOf(frame.status, frame.error));
        return;
      }
      case 'deliver': {
        const consumer = this.consumers.get(frame.consumer);
        if (!consumer) return;
        if (!consumer.isCancelled) {
          consumer.onDeliver(frame.messages);
          return;
        }
        // Leased while the cancel was on its way: released for others at once.
        void this.nack(consumer.target, frame.messages.map((m) => m.receiptHandle)).catch(() => undefined);
        return;
      }
      case 'end': {
        const consumer = this.consumers.get(frame.consumer);
        if (!consumer) return;
        this.consumers.delete(frame.consumer);
        consumer.onEnd(frame.error ? errorOf(400, frame.error) : undefined);
        return;
      }
      case 'auth_expired':
        void this.renewToken();
        return;
      case 'ready':
        this.node = frame.node;
        return;
    }
  }

  private async token(): Promise<string> {
    return typeof this.opts.token === 'string' ? this.opts.token : await this.opts.token();
  }

  private async renewToken(): Promise<void> {
    if (typeof this.opts.token === 'string') return;
    const token = await this.token();
    this.ws?.send(JSON.stringify({ op: 'auth', token }));
  }

  cancelConsumer(id: RequestId): Promise<unknown> {
    return this.request({ op: 'cancel', consumer: id }, false);
  }

  // ---- connecting ------------------------------------------------------------------

  /** Opens a stream (again) and resends every pending request and consumer. */
  private reconnect(isRetry: boolean, afterMs = 0): Promise<void> {
    this.connecting ??= (afterMs > 0 ? sleep(afterMs) : Promise.resolve()).then(() => this.openStream(isRetry)).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** On a new socket: consumers first, then requests in the order they were made; from
   *  then on (same synchronous turn) new frames go out directly. */
  private resume(ws: WebSocket): void {
    this.socket?.cork();
    for (const consumer of [...this.consumers.values()]) {
      if (consumer.isCancelled) this.consumers.delete(consumer.id); // its end will not come
      else ws.send(consumer.frameText());
    }
    for (const entry of this.pending.values()) ws.send(entry.text);
    this.socket?.uncork();
    this.lastFrameOutAt = Date.now();
    this.live = true;
  }

  private async openStream(isRetry: boolean): Promise<void> {
    const deadline = Date.now() + (this.opts.reconnectDeadlineMs ?? 60_000);
    let delay = 25;
    let turn = 0;
    for (;;) {
      this.throwIfClosed();
      const base = this.leaderHint ?? this.opts.urls[turn++ % this.opts.urls.length];
      this.leaderHint = undefined;
      const attempt = await this.attempt(base);
      if ('ws' in attempt) {
        if (isRetry) this.reconnects++;
        this.adopt(attempt.ws);
        return;
      }
      if ('fatal' in attempt) {
        this.fail(attempt.fatal);
        throw attempt.fatal;
      }
      if ('redirect' in attempt) {
        this.leaderHint = attempt.redirect;
        continue;
      }
      if (Date.now() > deadline) {
        const err = new StreamClosedError(CLOSE.leaderChanged, `no leader reachable: ${attempt.retry}`);
        this.fail(err);
        throw err;
      }
      // Each node once quickly, then back off.
      if (turn % this.opts.urls.length === 0) {
        await sleep(delay);
        delay = Math.min(delay * 2, 1_000);
      }
    }
  }

  /** One try: a connected, authenticated socket, or what to do next. */
  private async attempt(base: string): Promise<Attempt> {
    const token = await this.token();
    return new Promise<Attempt>((resolve) => {
      let done = false;
      const finish = (a: Attempt): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!('ws' in a)) ws.terminate();
        resolve(a);
      };
      let socket: Socket | undefined;
      const ws = new WebSocket(streamUrl(base), {
        headers: { authorization: `Bearer ${token}` },
        perMessageDeflate: false,
        // As ws connects by itself, keeping the socket to cork (see flush()).
        createConnection: ((options: NetConnectOpts & ConnectionOptions & { socketPath?: string }) => {
          socket = openSocket(options, streamUrl(base).startsWith('wss:'));
          return socket;
        }) as typeof netConnect,
      });
      const timer = setTimeout(() => finish({ retry: `${base}: no answer in 5 s` }), 5_000);
      ws.once('unexpected-response', (_req, res) => {
        const location = res.headers.location;
        res.resume();
        if (res.statusCode === 307 && location) finish({ redirect: new URL(location).origin });
        else if (res.statusCode === 401) finish({ fatal: new StreamClosedError(CLOSE.unauthorized, 'token refused') });
        else finish({ retry: `${base}: HTTP ${res.statusCode ?? '?'}` });
      });
      ws.once('error', (err) => finish({ retry: `${base}: ${err.message}` }));
      // The server speaks first: `ready` once the token is checked.
      ws.once('message', (data) => {
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.op === 'ready') {
          this.node = frame.node;
          this.socket = socket;
          finish({ ws });
        } else finish({ retry: `${base}: unexpected first frame ${frame.op}` });
      });
      ws.once('close', (code, reason) => {
        if (code === CLOSE.leaderChanged && reason.length > 0) finish({ redirect: reason.toString() });
        else finish({ retry: `${base}: closed ${code}` });
      });
    });
  }

  private adopt(ws: WebSocket): void {
    ws.removeAllListeners();
    this.ws = ws;
    this.connectedAt = Date.now();
    if (ws.readyState !== WebSocket.OPEN) {
      // Closed between its `ready` and now: the close event was already spent. This runs
      // inside the reconnect that opened it, which a reconnect asked for now would join
      // (and with it end): ask once that one is over.
      ws.on('error', () => undefined);
      setImmediate(() => this.onClose(ws, 1006, ''));
      return;
    }
    let lastSign = Date.now();
    const heartbeatMs = this.opts.heartbeatMs ?? 10_000;
    const heartbeat = setInterval(() => {
      if (Date.now() - lastSign > heartbeatMs) ws.terminate(); // 'close' (1006) follows
      else if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, heartbeatMs / 4);
    heartbeat.unref();
    ws.on('message', (data) => {
      lastSign = this.lastFrameInAt = Date.now();
      this.onFrame(data.toString());
    });
    ws.on('pong', () => (lastSign = Date.now()));
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', (code, reason) => {
      clearInterval(heartbeat);
      this.onClose(ws, code, reason.toString());
    });
    this.resume(ws);
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws || this.closedError) return;
    this.ws = undefined;
    this.socket = undefined;
    this.live = false;
    this.outbox = [];
    if (code === CLOSE.unauthorized && typeof this.opts.token !== 'string') {
      // A fresh token from the provider may do; another refusal is fatal.
      void this.reconnect(true).catch(() => undefined);
      return;
    }
    if (!RECONNECTABLE.has(code)) {
      this.fail(new StreamClosedError(code, reason));
      return;
    }
    if (code === CLOSE.leaderChanged && reason) this.leaderHint = reason;
    // A stream that closes soon after opening (an election still going on): back off.
    this.churnDelayMs = Date.now() - this.connectedAt < 1_000 ? Math.min(Math.max(25, this.churnDelayMs * 2), 1_000) : 0;
    void this.reconnect(true, this.churnDelayMs).catch(() => undefined);
  }

  private connectedAt = 0;
  private churnDelayMs = 0;

  private fail(err: StreamClosedError): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const entry of [...this.pending.values()]) {
      this.settle(entry);
      entry.reject(err);
    }
    for (const consumer of [...this.consumers.values()]) consumer.onEnd(err);
    this.consumers.clear();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}

/** What ws's own connect does, for ws:// and wss:// (see ws/lib/websocket.js). */
function openSocket(options: NetConnectOpts & ConnectionOptions & { socketPath?: string }, secure: boolean): Socket {
  if (!secure) return netConnect({ ...options, path: options.socketPath } as NetConnectOpts);
  const servername = options.servername || options.servername === '' ? options.servername : isIP(options.host ?? '') ? '' : options.host;
  return tlsConnect({ ...options, path: undefined, servername } as ConnectionOptions);
}

function errorOf(status: number, error: ErrorBody): StreamRequestError {
  return new StreamRequestError(status, error.code, error.message, error.details);
}

/** An async iterator of deliveries; leaving the loop (break, return, throw) cancels it. */
export class StreamConsumer implements AsyncIterable<Delivery> {
  private readonly buffer: Delivery[] = [];
  private waiter: { resolve(r: IteratorResult<Delivery>): void; reject(err: Error): void } | undefined;
  private ended = false;
  private error: Error | undefined;
  private startedResolve!: () => void;
  /** Resolves once the server accepted the consumer (rejects with its error). */
  readonly started: Promise<void>;

  constructor(
    private readonly client: StreamClient,
    readonly id: RequestId,
    readonly target: StreamTarget,
    private readonly opts: ConsumeOptions,
  ) {
    let rejectStarted!: (err: Error) => void;
    this.started = new Promise<void>((resolve, reject) => {
      this.startedResolve = resolve;
      rejectStarted = reject;
    });
    this.started.catch(() => undefined);
    this.rejectStarted = rejectStarted;
    opts.signal?.addEventListener('abort', () => void this.cancel(), { once: true });
  }

  private readonly rejectStarted: (err: Error) => void;

  frameText(): string {
    return JSON.stringify({
      op: 'consume',
      id: this.id,
      ...this.target,
      ...(this.opts.prefetch !== undefined && { prefetch: this.opts.prefetch }),
      ...(this.opts.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: this.opts.visibilityTimeoutMs }),
    });
  }

  onStarted(): void {
    this.startedYet = true;
    this.startedResolve();
  }

  private startedYet = false;
  private delivered = 0;
  private settled = 0;
  private lastDeliveryAt = 0;

  debugState(now: number): StreamConsumerState {
    return {
      id: this.id,
      target: this.target,
      prefetch: this.opts.prefetch,
      started: this.startedYet,
      ended: this.ended,
      cancelled: this.cancelled,
      delivered: this.delivered,
      settled: this.settled,
      buffered: this.buffer.length,
      ...(this.lastDeliveryAt > 0 && { msSinceDelivery: now - this.lastDeliveryAt }),
    };
  }

  /** Counts an answered (or failed) ack or nack, for debugState's credit view. */
  private counted(settling: Promise<boolean>): Promise<boolean> {
    return settling.then(
      (ok) => {
        this.settled++;
        return ok;
      },
      (err: unknown) => {
        this.settled++;
        throw err;
      },
    );
  }

  onDeliver(messages: DeliveredMessage[]): void {
    if (this.ended) return;
    this.delivered += messages.length;
    this.lastDeliveryAt = Date.now();
    for (const m of messages) {
      const delivery: Delivery = {
        ...m,
        ack: () => this.counted(this.client.settleDelivery('ack', this.target, m.receiptHandle)),
        nack: (delayMs = 0) => this.counted(this.client.settleDelivery('nack', this.target, m.receiptHandle, delayMs)),
        extend: (ms) => this.client.extend(this.target, m.receiptHandle, ms),
      };
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve({ value: delivery, done: false });
      } else this.buffer.push(delivery);
    }
  }

  onEnd(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    if (err) this.rejectStarted(err);
    else this.startedResolve();
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    if (err) w.reject(err);
    else w.resolve({ value: undefined, done: true });
  }

  /** Stops deliveries; those already received can still be acked or nacked. */
  async cancel(): Promise<void> {
    if (this.ended) return;
    this.cancelled = true;
    this.onEnd(undefined);
    await this.client.cancelConsumer(this.id).catch(() => undefined);
  }

  private cancelled = false;

  /** Cancelled by the caller; the client waits for the server's `end`. */
  get isCancelled(): boolean {
    return this.cancelled;
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return {
      next: () => {
        const value = this.buffer.shift();
        if (value) return Promise.resolve({ value, done: false });
        if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
      },
      return: async () => {
        await this.cancel();
        return { value: undefined, done: true };
      },
    };
  }
}
