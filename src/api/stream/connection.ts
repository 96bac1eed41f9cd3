// One stream connection: authentication and token expiry, the requests in flight (and
// reading paused while too many are, or while the client is behind on reading), its
// consumers, and the close codes of docs/STREAM.md.
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import type { ReceivedView } from '../../broker/index.js';
import { NoLeaderError, NodeStoppedError, NotLeaderError, ProposalOutcomeUnknownError, StorageFailedError } from '../../node/errors.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, errorBody, toApiError } from '../errors.js';
import type { Answer } from '../route.js';
import { SendCoalescer, partOf } from './coalesce.js';
import { Consumer, type ConsumerHost } from './consumer.js';
import { FrameError, badRequest, checkFields, readFrame, requiredString, targetOf, type Frame } from './frames.js';
import { routeCallOf, type Caller, type RouteTable } from './operations.js';
import { CLOSE, STREAM_LIMITS, type RequestId, type ServerFrame } from './protocol.js';

export interface StreamSettings {
  maxUnconfirmed: number;
  maxBufferedBytes: number;
  maxConsumers: number;
  maxPrefetch: number;
  authTimeoutMs: number;
  authGraceMs: number;
}

export interface ConnectionContext {
  deps: ApiDeps;
  routes: RouteTable;
  settings: StreamSettings;
  /** Forward mode: requests reach the leader through this node, whoever leads. */
  relaying: boolean;
}

/** A verified token and what it says. */
export interface Claims {
  token: string;
  username: string;
  expiresAtMs: number;
}

/** Errors that mean this node can no longer serve writes: the stream closes with
 *  leaderChanged and the client resends what was unconfirmed. */
function leadershipLost(err: unknown): boolean {
  return (
    err instanceof NotLeaderError ||
    err instanceof NoLeaderError ||
    err instanceof ProposalOutcomeUnknownError ||
    err instanceof NodeStoppedError ||
    err instanceof StorageFailedError ||
    (err instanceof ApiError && err.code === 'no_leader')
  );
}

/** A close reason is at most 123 bytes. */
const reasonOf = (text: string): string => (Buffer.byteLength(text) <= 123 ? text : Buffer.from(text).subarray(0, 120).toString());

const BACKOFF_MS = 50;

export class StreamConnection implements ConsumerHost {
  private user: string | undefined;
  private token = '';
  private inFlight = 0;
  private closed = false;
  private readonly consumers = new Map<RequestId, Consumer>();
  /** Which consumer delivered each outstanding receipt handle (for credit). */
  private readonly handles = new Map<string, Consumer>();
  private authTimer: NodeJS.Timeout | undefined;
  private outbox: string[] = [];
  private flushScheduled = false;
  private drainWaiters: Array<() => void> = [];
  /** Aborted when the stream ends: relayed requests and long polls of its consumers stop. */
  private readonly gone = new AbortController();
  /** Who led when the stream opened (forward mode closes it when that changes). */
  readonly leaderAtAccept: string | null;
  /** Frames read while maxUnconfirmed requests were in flight: at most what one socket
   *  read held when reading paused (ws still emits the rest of a chunk), served in order. */
  private readonly backlog: string[] = [];
  readonly routes: RouteTable;
  private readonly coalescer: SendCoalescer;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    private readonly clientAddress: string,
    claims: Claims | undefined,
    private readonly onClosed: (conn: StreamConnection) => void,
  ) {
    this.routes = ctx.routes;
    this.leaderAtAccept = ctx.deps.node.leadership().leaderId;
    this.coalescer = new SendCoalescer(ctx.routes, () => this.caller(this.gone.signal));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.cleanUp());
    ws.on('error', () => this.cleanUp());
    socket.on('drain', () => this.onDrain());
    if (claims) this.authenticated(claims, undefined);
    else {
      this.authTimer = setTimeout(() => this.close(CLOSE.unauthorized, 'no auth frame in time'), ctx.settings.authTimeoutMs);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the stream with a close code of docs/STREAM.md. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush();
    this.ws.close(code, reasonOf(reason));
    this.cleanUp();
    // The closing handshake reads the client's close frame (frames before it are ignored).
    if (this.ws.isPaused) this.ws.resume();
    // A client that does not answer the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }

  private cleanUp(): void {
    if (this.closed) return;
    this.closed = true;
    this.gone.abort();
    clearTimeout(this.authTimer);
    for (const consumer of this.consumers.values()) consumer.cancel();
    this.consumers.clear();
    this.handles.clear();
    for (const wake of this.drainWaiters.splice(0)) wake();
    this.onClosed(this);
  }

  // ---- frames out ------------------------------------------------------------------

  /** Frames written in one turn of the event loop go out in one write. */
  private push(frame: ServerFrame): void {
    if (this.closed) return;
    this.outbox.push(JSON.stringify(frame));
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    const frames = this.outbox;
    this.outbox = [];
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.socket.cork();
    for (const text of frames) this.ws.send(text);
    this.socket.uncork();
    this.updateReading();
  }

  private answer(id: RequestId, status: number, body: unknown): void {
    this.push(body === undefined ? { op: 'ok', id, status } : { op: 'ok', id, status, body });
  }

  private fail(id: RequestId, err: unknown): void {
    if (leadershipLost(err)) {
      this.leaderLost(err);
      return;
    }
    const apiErr = toApiError(err);
    if (apiErr.code === 'internal') this.ctx.deps.logger.error({ err }, 'stream request failed');
    this.push({ op: 'error', id, status: apiErr.status, error: errorBody(apiErr).error });
  }

  /** The leader changed under requests in flight: every unanswered request is for the
   *  client to resend (guarded by its key or deduplicationId, so nothing is applied
   *  twice). In redirect mode the reason names the new leader when known; in forward
   *  mode it is empty: the client reconnects to any node, which relays. */
  leaderLost(err?: unknown): void {
    if (this.ctx.relaying) {
      this.close(CLOSE.leaderChanged, '');
      return;
    }
    const url = err instanceof NotLeaderError ? (err.leaderHttpUrl ?? '') : (this.ctx.deps.node.leadership().leaderUrl ?? '');
    this.close(CLOSE.leaderChanged, url);
  }

  // ---- reading and flow control ----------------------------------------------------

  private get behind(): boolean {
    return this.ws.bufferedAmount + this.socket.writableLength > this.ctx.settings.maxBufferedBytes;
  }

  /** Stops reading while too many requests are unanswered or the client is behind. */
  private updateReading(): void {
    if (this.closed) return;
    const full = this.inFlight >= this.ctx.settings.maxUnconfirmed || this.backlog.length > 0 || this.behind;
    if (full && !this.ws.isPaused) this.ws.pause();
    else if (!full && this.ws.isPaused) this.ws.resume();
  }

  private onDrain(): void {
    for (const wake of this.drainWaiters.splice(0)) wake();
    this.updateReading();
  }

  writable(): Promise<void> {
    if (!this.behind || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  backoff(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, BACKOFF_MS);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  // ---- frames in -------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.close(CLOSE.unsupportedData, 'frames are JSON text');
      return;
    }
    const text = data.toString();
    if (this.backlog.length > 0 || this.inFlight >= this.ctx.settings.maxUnconfirmed) {
      this.backlog.push(text);
      this.updateReading();
      return;
    }
    this.serve(text);
  }

  private drainBacklog(): void {
    while (this.backlog.length > 0 && this.inFlight < this.ctx.settings.maxUnconfirmed && !this.closed) {
      this.serve(this.backlog.shift()!);
    }
  }

  private serve(text: string): void {
    let frame: Frame;
    try {
      frame = readFrame(text);
    } catch (err) {
      if (err instanceof FrameError) this.close(CLOSE.protocolError, err.message);
      else throw err;
      return;
    }
    if (frame.op === 'auth') {
      void this.auth(frame);
      return;
    }
    if (this.user === undefined) {
      this.close(CLOSE.unauthorized, 'send an auth frame first');
      return;
    }
    const id = frame.id as RequestId;
    try {
      checkFields(frame);
      if (frame.op === 'consume') this.consume(frame, id);
      else if (frame.op === 'cancel') this.cancel(frame, id);
      else this.request(frame, id);
    } catch (err) {
      this.fail(id, err);
    }
  }

  caller(signal: AbortSignal): Caller {
    return { user: this.user!, token: this.token, clientAddress: this.clientAddress, signal };
  }

  /** send, publish, ack, nack, extend: the REST route's answer, as ok or error. */
  private request(frame: Frame, id: RequestId): void {
    const call = routeCallOf(frame);
    const prepared = this.routes.prepare(call);
    this.inFlight++;
    this.updateReading();
    const settled = (): void => {
      this.inFlight--;
      if (frame.op === 'ack' || frame.op === 'nack') this.releaseHandles(frame.fields.receiptHandles);
      this.drainBacklog();
      this.updateReading();
    };
    const done = (err: unknown, answer?: Answer): void => {
      settled();
      if (answer) this.answer(id, answer.status, answer.body);
      else this.fail(id, err);
    };
    if ((frame.op === 'send' || frame.op === 'publish') && prepared.idempotencyKey === undefined) {
      this.coalescer.add(partOf(prepared, done));
      return;
    }
    this.coalescer.flush();
    this.routes.serve(prepared, this.caller(this.gone.signal)).then((answer) => done(undefined, answer), done);
  }

  private releaseHandles(handles: unknown): void {
    if (!Array.isArray(handles)) return;
    for (const handle of handles) {
      if (typeof handle !== 'string') continue;
      const consumer = this.handles.get(handle);
      if (!consumer) continue;
      this.handles.delete(handle);
      consumer.release(handle);
    }
  }

  private consume(frame: Frame, id: RequestId): void {
    const f = frame.fields;
    const target = targetOf(f);
    if (this.consumers.has(id)) throw badRequest('id', 'a consumer with this id is running on this connection');
    if (this.consumers.size >= this.ctx.settings.maxConsumers) {
      throw badRequest('op', `at most ${this.ctx.settings.maxConsumers} consumers per connection`);
    }
    const prefetch = f.prefetch ?? STREAM_LIMITS.defaultPrefetch;
    if (typeof prefetch !== 'number' || !Number.isInteger(prefetch) || prefetch < 1 || prefetch > this.ctx.settings.maxPrefetch) {
      throw badRequest('prefetch', `must be an integer in 1..${this.ctx.settings.maxPrefetch}`);
    }
    const visibility = f.visibilityTimeoutMs;
    if (visibility !== undefined && typeof visibility !== 'number') throw badRequest('visibilityTimeoutMs', 'must be a number');
    // The receive route checks the names, the visibility timeout and the caller's rights.
    const consumer = new Consumer(id, target, prefetch, visibility, this);
    this.consumers.set(id, consumer);
    void consumer.run();
  }

  private cancel(frame: Frame, id: RequestId): void {
    const consumerId = frame.fields.consumer;
    const consumer = typeof consumerId === 'string' || typeof consumerId === 'number' ? this.consumers.get(consumerId) : undefined;
    if (!consumer) throw new ApiError('not_found', `no consumer ${JSON.stringify(consumerId)} on this connection`);
    consumer.cancel();
    this.answer(id, 200, { cancelled: consumer.id, unacked: consumer.unacked });
  }

  started(consumer: Consumer): void {
    consumer.started = true;
    this.answer(consumer.id, 200, { consumer: consumer.id, prefetch: consumer.prefetch });
  }

  deliver(consumer: Consumer, messages: ReceivedView[]): void {
    if (this.closed) return;
    for (const m of messages) this.handles.set(m.receiptHandle, consumer);
    this.push({ op: 'deliver', consumer: consumer.id, messages });
  }

  ended(consumer: Consumer, err: unknown): void {
    if (this.consumers.get(consumer.id) === consumer) this.consumers.delete(consumer.id);
    if (this.closed) return;
    if (err === undefined) {
      this.push({ op: 'end', consumer: consumer.id, error: null });
      return;
    }
    // Refused at its first receive: the consume request itself fails.
    if (!consumer.started || leadershipLost(err)) {
      this.fail(consumer.id, err);
      return;
    }
    const apiErr = toApiError(err);
    if (apiErr.code === 'internal') this.ctx.deps.logger.error({ err }, 'stream consumer failed');
    this.push({ op: 'end', consumer: consumer.id, error: errorBody(apiErr).error });
  }

  // ---- authentication --------------------------------------------------------------

  private async auth(frame: Frame): Promise<void> {
    let claims: Claims;
    try {
      checkFields(frame);
      const token = requiredString(frame.fields, 'token');
      claims = { ...(await this.ctx.deps.tokens.verifyClaims(token)), token };
    } catch (err) {
      if (this.user === undefined) this.close(CLOSE.unauthorized, toApiError(err).message);
      else if (frame.id !== undefined) this.fail(frame.id, err);
      return;
    }
    if (this.user !== undefined && claims.username !== this.user) {
      if (frame.id !== undefined) this.fail(frame.id, new ApiError('forbidden', 'a stream keeps the user it started with'));
      return;
    }
    this.authenticated(claims, frame.id);
  }

  private authenticated(claims: Claims, id: RequestId | undefined): void {
    if (this.closed) return;
    this.user = claims.username;
    this.token = claims.token;
    const { settings } = this.ctx;
    this.armExpiry(claims);
    this.push({
      op: 'ready',
      ...(id !== undefined && { id }),
      user: claims.username,
      node: this.ctx.deps.node.id,
      expiresAt: new Date(claims.expiresAtMs).toISOString(),
      limits: { maxUnconfirmed: settings.maxUnconfirmed, maxPrefetch: settings.maxPrefetch, maxConsumers: settings.maxConsumers },
    });
  }

  /** At expiry the client is told, and has authGraceMs to send a fresh token. */
  private armExpiry(claims: Claims): void {
    clearTimeout(this.authTimer);
    const { settings } = this.ctx;
    // setTimeout holds at most 2^31-1 ms; a longer token is checked again then.
    const untilExpiry = Math.min(Math.max(0, claims.expiresAtMs - Date.now()), 2 ** 31 - 1);
    this.authTimer = setTimeout(() => {
      if (Date.now() < claims.expiresAtMs) {
        this.armExpiry(claims);
        return;
      }
      this.push({ op: 'auth_expired', graceMs: settings.authGraceMs });
      this.authTimer = setTimeout(() => this.close(CLOSE.unauthorized, 'token expired'), settings.authGraceMs);
    }, untilExpiry);
  }
}
