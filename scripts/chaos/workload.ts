// The chaos workload, speaking only the REST API: one user, a few queues, a topic with
// two subscriptions; producers send unique payloads with idempotency keys and retry
// with the same key until they get an answer; consumers long-poll, ack, and sometimes
// "crash" (skip the ack) so leases expire and messages come back.
import type { AttemptOutcome, BrokerHttpClient, CallOptions } from './http-client.js';
import type { HistoryRecorder } from './history.js';
import { StreamTraffic } from './stream-traffic.js';
import type { StreamClientState } from '../../src/client/stream.js';
import {
  queueTarget, subTarget,
  type DeliveredMessage, type OpFunction, type OpValue, type Target,
} from './ops.js';

export interface WorkloadOptions {
  client: BrokerHttpClient;
  history: HistoryRecorder;
  random: () => number;
  queues?: number;
  producers?: number;
  /** Lease length for queues and subscriptions; drain waits this long past the last message. */
  visibilityTimeoutMs?: number;
  /** Probability that a consumer skips its ack, as if it crashed. */
  skipAckProbability?: number;
  /** Request timeout for one attempt (long polls get their wait on top). */
  attemptTimeoutMs?: number;
  /** Producers and consumers over REST (default) or over the stream (stream-traffic.ts;
   *  setup, drain checks and residual reads stay on REST). */
  transport?: 'rest' | 'stream';
  /** The nodes' base URLs (the stream transport connects itself). */
  urls?: readonly string[];
  /** The run failed: retry loops give up at once. */
  halt?: AbortSignal;
}

interface ConsumerSpec { process: string; target: Target; path: string }

type Value<F extends OpFunction> = OpValue<F>;

const USER = 'chaos';
const PASSWORD = 'chaos-password-1';
const TOPIC = 'events';
const SUBSCRIPTIONS = ['audit', 'billing'];

export class Workload {
  private token = '';
  private readonly queues: string[];
  private readonly producerCount: number;
  private readonly leaseMs: number;
  private readonly skipAck: number;
  private readonly attemptTimeoutMs: number;
  private producersRunning = false;
  private consumersRunning = false;
  private draining = false;
  private readonly producerLoops: Promise<void>[] = [];
  private readonly consumerLoops: Promise<void>[] = [];
  private readonly lastDeliveryAt = new Map<Target, number>();
  private streamTraffic: StreamTraffic | undefined;

  constructor(private readonly opts: WorkloadOptions) {
    this.queues = Array.from({ length: opts.queues ?? 2 }, (_, i) => `orders-${i}`);
    this.producerCount = opts.producers ?? 4;
    this.leaseMs = opts.visibilityTimeoutMs ?? 3000;
    this.skipAck = opts.skipAckProbability ?? 0.05;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 1500;
  }

  get authToken(): string {
    return this.token;
  }

  /** Reads whose answers must be identical on every replica at one applied index. */
  get statePaths(): string[] {
    return ['/v1/queues', `/v1/topics/${TOPIC}/subscriptions`, '/v1/topics'];
  }

  get targets(): Target[] {
    return [...this.queues.map(queueTarget), ...SUBSCRIPTIONS.map((s) => subTarget(TOPIC, s))];
  }

  /** Creates the user, queues, topic and subscriptions, retrying until each exists. */
  async setup(deadline: number): Promise<void> {
    const once = async (what: string, call: Omit<CallOptions, 'timeoutMs'>, exists = 409): Promise<unknown> => {
      const key = `setup-${what}`;
      for (;;) {
        const opId = this.opts.history.invoke('setup', 'setup', { what });
        const out = await this.opts.client.call({ ...call, idempotencyKey: call.method === 'POST' || call.method === 'PUT' ? key : undefined, timeoutMs: this.attemptTimeoutMs });
        if (out.type === 'ok' || out.status === exists) {
          this.opts.history.complete(opId, 'setup', 'setup', 'ok', { what });
          return out.body;
        }
        this.opts.history.complete(opId, 'setup', 'setup', out.type, { what }, out.error);
        if (Date.now() > deadline || this.halted) throw new Error(`setup step ${what} did not succeed: ${out.error}`);
        await sleep(backoff(out, this.opts.random));
      }
    };
    await once('register', { method: 'POST', path: '/v1/auth/register', body: { username: USER, password: PASSWORD } });
    await this.login(deadline);
    for (const q of this.queues) {
      await once(`queue-${q}`, { method: 'POST', path: '/v1/queues', token: this.token, body: { name: q, visibilityTimeoutMs: this.leaseMs } });
    }
    await once('topic', { method: 'POST', path: '/v1/topics', token: this.token, body: { name: TOPIC } });
    for (const s of SUBSCRIPTIONS) {
      await this.writeUntilDone('setup', 'subscribe', { topic: TOPIC, subscription: s }, {
        method: 'POST', path: `/v1/topics/${TOPIC}/subscriptions`, body: { name: s, ackTimeoutMs: this.leaseMs },
      }, `setup-sub-${s}`, () => Date.now() > deadline || this.halted, 409);
    }
  }

  startTraffic(): void {
    this.producersRunning = true;
    this.consumersRunning = true;
    if (this.opts.transport === 'stream') {
      this.startStreamTraffic();
      return;
    }
    for (let i = 0; i < this.producerCount; i++) this.producerLoops.push(this.produce(`producer-${i}`));
    for (const c of this.consumers()) this.consumerLoops.push(this.consume(c));
  }

  private startStreamTraffic(): void {
    const traffic = new StreamTraffic({
      urls: this.opts.urls ?? [],
      history: this.opts.history,
      random: this.opts.random,
      token: () => this.token,
      queues: this.queues,
      topic: TOPIC,
      subscriptions: SUBSCRIPTIONS,
      producers: this.producerCount,
      skipAckProbability: () => (this.draining ? 0 : this.skipAck),
      producing: () => this.producersRunning,
      consuming: () => this.consumersRunning,
      delivered: (target) => this.lastDeliveryAt.set(target, Date.now()),
    });
    this.streamTraffic = traffic;
    const started = traffic.start();
    this.producerLoops.push(started.then(async () => void (await Promise.all(traffic.producerLoops))));
    this.consumerLoops.push(started.then(async () => void (await Promise.all(traffic.consumerLoops))));
  }

  private get halted(): boolean {
    return this.opts.halt?.aborted === true;
  }

  /** The stream clients' states (none over REST), for the dump of a stuck run. */
  streamStates(): Array<{ name: string; state: StreamClientState }> {
    return this.streamTraffic?.states() ?? [];
  }

  /** Ends the traffic now (a run that failed): stream clients close without waiting. */
  async abort(): Promise<void> {
    this.producersRunning = false;
    this.consumersRunning = false;
    await this.streamTraffic?.close(0);
  }

  /** Stops producing; an attempt in flight finishes (its outcome may stay unknown). */
  async stopProducers(): Promise<void> {
    this.producersRunning = false;
    await Promise.all(this.producerLoops);
  }

  /**
   * Consumers keep going until the leader reports every queue and subscription empty
   * (nothing ready, in flight or delayed: a linearizable read, so nothing more can
   * come), or every target has been quiet for longer than a lease, or the deadline.
   */
  async drain(deadline: number): Promise<{ drained: boolean; quietTargets: number; emptyPerLeader: boolean }> {
    this.draining = true;
    const quietMs = this.leaseMs + 2000;
    const start = Date.now();
    for (const t of this.targets) this.lastDeliveryAt.set(t, Math.max(this.lastDeliveryAt.get(t) ?? 0, start));
    const quiet = (): number => this.targets.filter((t) => Date.now() - (this.lastDeliveryAt.get(t) ?? 0) > quietMs).length;
    let emptyPerLeader = false;
    while (quiet() < this.targets.length && Date.now() < deadline && !this.halted) {
      await sleep(1000);
      const left = await this.residual();
      if (left !== undefined && this.targets.every((t) => left[t] !== undefined && left[t].ready + left[t].inflight + left[t].delayed === 0)) {
        emptyPerLeader = true;
        break;
      }
    }
    const quietTargets = quiet();
    this.consumersRunning = false;
    await Promise.all(this.consumerLoops);
    await this.streamTraffic?.close();
    return { drained: emptyPerLeader || quietTargets === this.targets.length, quietTargets, emptyPerLeader };
  }

  /** What the leader says is still in each queue and subscription (after a drain: all zero). */
  async residual(): Promise<Record<Target, { ready: number; inflight: number; delayed: number }> | undefined> {
    const out: Record<Target, { ready: number; inflight: number; delayed: number }> = {};
    const queues = await this.opts.client.call({ method: 'GET', path: '/v1/queues', token: this.token, timeoutMs: 5000 });
    const subs = await this.opts.client.call({ method: 'GET', path: `/v1/topics/${TOPIC}/subscriptions`, token: this.token, timeoutMs: 5000 });
    if (queues.type !== 'ok' || subs.type !== 'ok') return undefined;
    type Listed = { name: string; stats?: { ready?: number; inflight?: number; delayed?: number } };
    const stats = (l: Listed): { ready: number; inflight: number; delayed: number } =>
      ({ ready: l.stats?.ready ?? -1, inflight: l.stats?.inflight ?? -1, delayed: l.stats?.delayed ?? -1 });
    for (const q of ((queues.body as { queues?: Listed[] }).queues ?? [])) out[queueTarget(q.name)] = stats(q);
    for (const s of ((subs.body as { subscriptions?: Listed[] }).subscriptions ?? [])) out[subTarget(TOPIC, s.name)] = stats(s);
    return out;
  }

  private consumers(): ConsumerSpec[] {
    const out: ConsumerSpec[] = [];
    this.queues.forEach((q, i) => {
      for (let c = 0; c < 2; c++) out.push({ process: `consumer-q${i}-${c}`, target: queueTarget(q), path: `/v1/queues/${q}` });
    });
    for (const s of SUBSCRIPTIONS) {
      out.push({ process: `consumer-${s}`, target: subTarget(TOPIC, s), path: `/v1/topics/${TOPIC}/subscriptions/${s}` });
    }
    return out;
  }

  private async login(deadline: number): Promise<void> {
    for (;;) {
      const out = await this.opts.client.call({
        method: 'POST', path: '/v1/auth/login', body: { username: USER, password: PASSWORD }, timeoutMs: this.attemptTimeoutMs,
      });
      if (out.type === 'ok' && typeof (out.body as { token?: unknown }).token === 'string') {
        this.token = (out.body as { token: string }).token;
        return;
      }
      if (Date.now() > deadline || this.halted) throw new Error(`login failed: ${out.type === 'ok' ? 'no token' : out.error}`);
      await sleep(backoff(out, this.opts.random));
    }
  }

  private async produce(process: string): Promise<void> {
    let seq = 0;
    while (this.producersRunning) {
      seq++;
      const n = this.opts.random() < 0.2 ? 2 + Math.floor(this.opts.random() * 4) : 1;
      const payloads = Array.from({ length: n }, (_, i) => `${process}:${seq}:${i}`);
      const key = `${process}-${seq}`;
      const messages = payloads.map((body) => ({ body }));
      const body = n === 1 ? messages[0] : { messages };
      // One write in ten is from an impatient client that gives up after one unknown
      // outcome: the checker then sees writes that may or may not have happened.
      const impatient = this.opts.random() < 0.1;
      let attempts = 0;
      const stop = (): boolean => !this.producersRunning || (impatient && ++attempts >= 1);
      if (this.opts.random() < 0.3) {
        await this.writeUntilDone(process, 'publish', { topic: TOPIC, key, payloads },
          { method: 'POST', path: `/v1/topics/${TOPIC}/messages`, body }, key, stop);
      } else {
        const queue = this.queues[Math.floor(this.opts.random() * this.queues.length)];
        await this.writeUntilDone(process, 'send', { queue, key, payloads },
          { method: 'POST', path: `/v1/queues/${queue}/messages`, body }, key, stop);
      }
    }
  }

  private async consume(spec: ConsumerSpec): Promise<void> {
    let seq = 0;
    while (this.consumersRunning) {
      seq++;
      const waitMs = this.draining ? 500 : 1000;
      const key = `${spec.process}-r${seq}`;
      const received = await this.writeUntilDone(spec.process, 'receive', { target: spec.target, key }, {
        method: 'POST', path: `${spec.path}/receive`, body: { max: this.draining ? 50 : 10, waitMs },
      }, key, () => !this.consumersRunning, undefined, waitMs);
      if (received === undefined) continue;
      const messages = received as DeliveredMessage[];
      if (messages.length === 0) continue;
      this.lastDeliveryAt.set(spec.target, Date.now());
      if (!this.draining && this.opts.random() < this.skipAck) continue;
      const items = messages.map((m) => ({ id: m.id, receiveCount: m.receiveCount, receiptHandle: m.receiptHandle ?? '' }));
      await this.writeUntilDone(spec.process, 'ack', { target: spec.target, items }, {
        method: 'POST', path: `${spec.path}/ack`, body: { receiptHandles: items.map((i) => i.receiptHandle) },
      }, `${spec.process}-a${seq}`, () => !this.consumersRunning);
    }
  }

  /**
   * Attempts a write until it is ok or certainly failed, or `stop()` says to give up;
   * every attempt is one operation in the history, all sharing one idempotency key.
   * Returns the ok result's value (receive: the messages), or undefined.
   */
  private async writeUntilDone<F extends 'send' | 'publish' | 'receive' | 'ack' | 'subscribe'>(
    process: string, f: F, value: Value<F>, call: Omit<CallOptions, 'timeoutMs' | 'idempotencyKey' | 'token'>,
    key: string, stop: () => boolean, okStatus?: number, extraTimeoutMs = 0,
  ): Promise<unknown> {
    const history = this.opts.history;
    for (let attempt = 0; ; attempt++) {
      const opId = history.invoke(process, f, value);
      const out = await this.opts.client.call({
        ...call, token: this.token, idempotencyKey: key, timeoutMs: this.attemptTimeoutMs + extraTimeoutMs,
      });
      if (out.type === 'ok' || (okStatus !== undefined && out.status === okStatus)) {
        const result = okValue(f, value, out);
        history.complete(opId, process, f, 'ok', result.value, undefined, out.node);
        return result.returned;
      }
      history.complete(opId, process, f, out.type, value, out.error, out.node);
      // A receive with an unknown outcome may have leased messages that come back one
      // lease later: the drain must wait for them as for a delivery.
      if (f === 'receive' && out.type === 'info') this.lastDeliveryAt.set((value as OpValue<'receive'>).target, Date.now());
      if (out.status === 401) await this.login(Date.now() + 30_000).catch(() => undefined);
      else if (out.type === 'fail' && out.status !== undefined && out.status !== 429) return undefined;
      if (stop() || this.halted) return undefined;
      await sleep(backoff(out, this.opts.random));
    }
  }
}

function okValue<F extends OpFunction>(f: F, value: Value<F>, out: AttemptOutcome): { value: Value<F>; returned: unknown } {
  const body = (out.type === 'ok' ? out.body : undefined) as Record<string, unknown> | undefined;
  if (f === 'receive') {
    const raw = Array.isArray(body?.messages) ? body.messages as Record<string, unknown>[] : [];
    const messages: DeliveredMessage[] = raw.map((m) => ({
      id: String(m.id), body: String(m.body), receiveCount: Number(m.receiveCount), receiptHandle: String(m.receiptHandle),
    }));
    return { value: { ...value, messages }, returned: messages };
  }
  if (f === 'ack') {
    const unknown = Array.isArray(body?.unknown) ? (body.unknown as unknown[]).map(String) : [];
    return { value: { ...value, unknown }, returned: body };
  }
  if (f === 'send' || f === 'publish') {
    const ids = Array.isArray(body?.messages)
      ? (body.messages as { id?: unknown }[]).map((m) => String(m.id))
      : body?.id !== undefined ? [String(body.id)] : [];
    return { value: { ...value, ids }, returned: body };
  }
  return { value, returned: body };
}

function backoff(out: AttemptOutcome, random: () => number): number {
  const hinted = out.type === 'ok' ? undefined : out.retryAfterMs;
  const base = 50 + random() * 150;
  return hinted === undefined ? base : Math.min(1000, Math.max(base, hinted));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
