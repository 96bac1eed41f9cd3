/**
 * A deliberately naive reference model of the broker's queue and subscription semantics:
 * plain arrays, linear scans, no heaps, no cursors. The property tests check the real
 * broker answers every command exactly as this model does.
 */
export type Result = { ok: true; value: unknown } | { ok: false; code: string };

interface Sent { id: string; deduplicated: boolean }
/** One frame's answer in a producer's command (errors by code, as Result). */
export type FrameResult = { ok: true; messages: Sent[] } | { ok: false; code: string };

interface MMsg {
  id: string;
  body: string;
  attributes: Record<string, string>;
  sentAt: number;
  seq: number;
  state: 'ready' | 'inflight' | 'delayed';
  visibleAt: number;
  timerSeq: number;
  receiveCount: number;
  receipt: string | null;
}

interface MChan {
  target: string;
  owner: string;
  msgs: MMsg[];
  leaseMs: number;
  maxReceives: number | null;
  dlq: string | null;
  nextSeq: number;
  dedup: Map<string, { id: string; at: number }>;
  grants: Map<string, Set<string>>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const midOf = (index: number, pos: number) => `${index.toString(36)}-${pos.toString(36)}`;
const rid = (index: number, pos: number) => `${index.toString(36)}.${pos.toString(36)}`;

export class Model {
  now = 0;
  timerSeq = 0;
  readonly queues = new Map<string, MChan>();
  readonly subs = new Map<string, MChan>();
  topicSeq = 0;
  topicDedup = new Map<string, { id: string; at: number }>();
  /** A receive's answer is kept as where it leased from and its receipts. */
  readonly idem = new Map<string, { result: Result; at: number; from?: MChan; receipts?: string[] }>();
  /** `${user}\n${producer id}` -> its answers by sequence. */
  readonly producers = new Map<string, { highest: number; lastUsed: number; answers: Map<number, FrameResult> }>();
  /** How often messages were dead-lettered (lets the tests check they cover it). */
  deadLettered = 0;

  addQueue(name: string, owner: string, leaseMs: number, maxReceives: number | null, dlq: string | null): void {
    this.queues.set(name, chan(`queue:${name}`, owner, leaseMs, maxReceives, dlq));
  }

  apply(c: any, index: number, time: number): Result {
    this.now = Math.max(this.now, time);
    this.runTimers();
    for (const [k, e] of this.idem) if (this.now - e.at >= 600_000) this.idem.delete(k);
    for (const [k, p] of this.producers) if (this.now - p.lastUsed >= 600_000) this.producers.delete(k);
    const key = c.idempotencyKey === undefined ? undefined : `${c.user}\n${c.idempotencyKey}`;
    if (key !== undefined && this.idem.has(key)) {
      const e = this.idem.get(key)!;
      if (e.from === undefined) return e.result;
      // A replayed receive: those of its leases that still run, nothing else; none once
      // its queue or subscription was deleted (or replaced by a new one of that name).
      const from = e.from;
      const live = [...this.queues.values(), ...this.subs.values()].includes(from);
      const messages = !live ? [] : e.receipts!.flatMap((r) => {
        const m = from.msgs.find((x) => x.receipt === r && x.state === 'inflight');
        return m === undefined ? [] : [{
          id: m.id, body: m.body, attributes: m.attributes, receiptHandle: r, receiveCount: m.receiveCount, sentAt: iso(m.sentAt),
        }];
      });
      return { ok: true, value: { messages } };
    }
    const result = this.exec(c, index);
    if (key !== undefined) {
      const from = c.type.endsWith('.receive') && result.ok ? this.channel(c) : undefined;
      if (from !== undefined && typeof from !== 'string') {
        const receipts = ((result as { value: { messages: { receiptHandle: string }[] } }).value).messages.map((m) => m.receiptHandle);
        this.idem.set(key, { result, at: this.now, from, receipts });
      } else this.idem.set(key, { result, at: this.now });
    }
    return result;
  }

  stats(ch: MChan): { ready: number; inflight: number; delayed: number } {
    const n = (s: string) => ch.msgs.filter((m) => m.state === s).length;
    return { ready: n('ready'), inflight: n('inflight'), delayed: n('delayed') };
  }

  /** A producer's frames as the broker answers them (src/broker README, Producers):
   *  every answer is kept, and a sequence within 1024 of the highest is looked up. */
  private producerSend(c: any, index: number): Result {
    const key = `${c.user}\n${c.producer.id}`;
    let p = this.producers.get(key);
    if (p === undefined) {
      p = { highest: -1, lastUsed: this.now, answers: new Map() };
      this.producers.set(key, p);
    }
    p.lastUsed = this.now;
    const out: FrameResult[] = [];
    const fresh: Array<{ at: number; seq: number; positions: number[] }> = [];
    let start = 0;
    c.producer.frames.forEach((f: { seq: number; count: number }, at: number) => {
      const positions = Array.from({ length: f.count }, (_, k) => start + k);
      start += f.count;
      const first = p.answers.get(f.seq);
      if (f.seq <= p.highest - 1024) out[at] = { ok: false, code: 'conflict' };
      else if (first !== undefined) out[at] = first.ok ? { ok: true, messages: first.messages.map((m) => ({ ...m, deduplicated: true })) } : first;
      else fresh.push({ at, seq: f.seq, positions });
    });
    if (fresh.length > 0) {
      const positions = fresh.flatMap((f) => f.positions);
      const r = this.exec({ ...c, producer: undefined, batch: true, messages: positions.map((i) => c.messages[i]) }, index, positions);
      let offset = 0;
      for (const f of fresh) {
        const answer: FrameResult = r.ok
          ? { ok: true, messages: (r.value as { messages: Sent[] }).messages.slice(offset, offset + f.positions.length) }
          : { ok: false, code: r.code };
        offset += f.positions.length;
        p.highest = Math.max(p.highest, f.seq);
        p.answers.set(f.seq, answer);
        out[f.at] = answer;
      }
    }
    if (out.length > 1) return { ok: true, value: { frames: out } };
    const [a] = out;
    if (!a.ok) return a;
    return { ok: true, value: c.batch ? { messages: a.messages } : a.messages[0] };
  }

  private exec(c: any, index: number, positions?: number[]): Result {
    if (c.producer !== undefined) return this.producerSend(c, index);
    const mid = (i: number, pos: number) => midOf(i, positions?.[pos] ?? pos);
    switch (c.type) {
      case 'tick':
        return { ok: true, value: null };
      case 'queue.send': {
        const q = this.queues.get(c.queue)!;
        if (!allowed(q, c.user, 'send')) return { ok: false, code: 'forbidden' };
        const out = c.messages.map((m: any, pos: number) => {
          if (m.deduplicationId !== undefined) {
            const seen = q.dedup.get(m.deduplicationId);
            if (seen && this.now - seen.at < 300_000) return { id: seen.id, deduplicated: true };
            q.dedup.set(m.deduplicationId, { id: mid(index, pos), at: this.now });
          }
          const msg = newMsg(mid(index, pos), m.body, m.attributes ?? {}, this.now, q.nextSeq++);
          if (m.delayMs > 0) this.delay(msg, m.delayMs);
          q.msgs.push(msg);
          return { id: msg.id, deduplicated: false };
        });
        return { ok: true, value: c.batch ? { messages: out } : out[0] };
      }
      case 'queue.receive':
      case 'subscription.receive': {
        const ch = this.channel(c);
        if (typeof ch === 'string') return { ok: false, code: ch };
        if (c.type === 'queue.receive' && !allowed(ch, c.user, 'receive')) return { ok: false, code: 'forbidden' };
        const ready = ch.msgs.filter((m) => m.state === 'ready').sort((a, b) => a.seq - b.seq).slice(0, c.max ?? 1);
        const messages = ready.map((m, k) => {
          m.receiveCount++;
          m.state = 'inflight';
          m.receipt = rid(index, k);
          m.visibleAt = this.now + (c.visibilityTimeoutMs ?? ch.leaseMs);
          m.timerSeq = ++this.timerSeq;
          return {
            id: m.id, body: m.body, attributes: m.attributes, receiptHandle: m.receipt,
            receiveCount: m.receiveCount, sentAt: iso(m.sentAt),
          };
        });
        return { ok: true, value: { messages } };
      }
      case 'queue.ack':
      case 'subscription.ack': {
        const ch = this.channel(c);
        if (typeof ch === 'string') return { ok: false, code: ch };
        if (c.type === 'queue.ack' && !allowed(ch, c.user, 'receive')) return { ok: false, code: 'forbidden' };
        let acked = 0;
        const unknown: string[] = [];
        for (const h of c.receiptHandles) {
          const i = ch.msgs.findIndex((m) => m.receipt === h);
          if (i < 0) unknown.push(h);
          else {
            ch.msgs.splice(i, 1);
            acked++;
          }
        }
        return { ok: true, value: { acked, unknown } };
      }
      case 'queue.nack':
      case 'subscription.nack': {
        const ch = this.channel(c);
        if (typeof ch === 'string') return { ok: false, code: ch };
        if (c.type === 'queue.nack' && !allowed(ch, c.user, 'receive')) return { ok: false, code: 'forbidden' };
        let released = 0;
        const unknown: string[] = [];
        for (const h of c.receiptHandles) {
          const m = ch.msgs.find((x) => x.receipt === h);
          if (m === undefined) unknown.push(h);
          else {
            this.endLease(ch, m, c.delayMs ?? 0);
            released++;
          }
        }
        return { ok: true, value: { released, unknown } };
      }
      case 'queue.visibility': {
        const ch = this.queues.get(c.queue)!;
        if (!allowed(ch, c.user, 'receive')) return { ok: false, code: 'forbidden' };
        const m = ch.msgs.find((x) => x.receipt === c.receiptHandle);
        if (m === undefined) return { ok: false, code: 'not_found' };
        m.visibleAt = this.now + c.visibilityTimeoutMs;
        m.timerSeq = ++this.timerSeq;
        return { ok: true, value: { visibleAt: iso(m.visibleAt) } };
      }
      case 'queue.purge': {
        const q = this.queues.get(c.queue)!;
        if (q.owner !== c.user) return { ok: false, code: 'forbidden' };
        const purged = q.msgs.length;
        q.msgs = [];
        return { ok: true, value: { purged } };
      }
      case 'queue.grant': {
        const q = this.queues.get(c.queue)!;
        if (q.owner !== c.user) return { ok: false, code: 'forbidden' };
        const perms = ['send', 'receive'].filter((p) => c.permissions.includes(p));
        if (perms.length === 0) q.grants.delete(c.username);
        else q.grants.set(c.username, new Set(perms));
        return { ok: true, value: { username: c.username, permissions: perms } };
      }
      case 'queue.revoke': {
        const q = this.queues.get(c.queue)!;
        if (q.owner !== c.user) return { ok: false, code: 'forbidden' };
        q.grants.delete(c.username);
        return { ok: true, value: null };
      }
      case 'topic.publish': {
        const out = c.messages.map((m: any, pos: number) => {
          if (m.deduplicationId !== undefined) {
            const seen = this.topicDedup.get(m.deduplicationId);
            if (seen && this.now - seen.at < 300_000) return { id: seen.id, deduplicated: true };
            this.topicDedup.set(m.deduplicationId, { id: mid(index, pos), at: this.now });
          }
          const seq = this.topicSeq++;
          for (const sub of this.subs.values()) sub.msgs.push(newMsg(mid(index, pos), m.body, m.attributes ?? {}, this.now, seq));
          return { id: mid(index, pos), deduplicated: false };
        });
        return { ok: true, value: c.batch ? { messages: out } : out[0] };
      }
      case 'subscription.create': {
        if (this.subs.has(c.name)) return { ok: false, code: 'conflict' };
        this.subs.set(c.name, chan(`sub:t/${c.name}`, c.user, c.ackTimeoutMs ?? 30_000, c.maxDeliveries ?? null, c.deadLetterQueue ?? null));
        return {
          ok: true,
          value: {
            name: c.name, topic: 't', owner: c.user, createdAt: iso(this.now), ackTimeoutMs: c.ackTimeoutMs ?? 30_000,
            maxDeliveries: c.maxDeliveries ?? null, deadLetterQueue: c.deadLetterQueue ?? null,
            stats: { ready: 0, inflight: 0, delayed: 0 },
          },
        };
      }
      case 'subscription.delete': {
        if (!this.subs.has(c.subscription)) return { ok: false, code: 'not_found' };
        this.subs.delete(c.subscription);
        return { ok: true, value: null };
      }
      default:
        throw new Error(`model has no ${c.type}`);
    }
  }

  private channel(c: any): MChan | string {
    if (c.queue !== undefined) return this.queues.get(c.queue)!;
    return this.subs.get(c.subscription) ?? 'not_found';
  }

  private delay(m: MMsg, ms: number): void {
    m.state = 'delayed';
    m.visibleAt = this.now + ms;
    m.timerSeq = ++this.timerSeq;
  }

  private endLease(ch: MChan, m: MMsg, delayMs: number): void {
    m.receipt = null;
    if (ch.maxReceives !== null && m.receiveCount >= ch.maxReceives) {
      ch.msgs.splice(ch.msgs.indexOf(m), 1);
      this.deadLettered++;
      const dlq = ch.dlq === null ? undefined : this.queues.get(ch.dlq);
      if (dlq !== undefined) dlq.msgs.push(newMsg(m.id, m.body, m.attributes, m.sentAt, dlq.nextSeq++));
      return;
    }
    if (delayMs > 0) this.delay(m, delayMs);
    else m.state = 'ready';
  }

  private runTimers(): void {
    for (;;) {
      let best: { ch: MChan; m: MMsg } | undefined;
      for (const ch of [...this.queues.values(), ...this.subs.values()]) {
        for (const m of ch.msgs) {
          if (m.state === 'ready' || m.visibleAt > this.now) continue;
          if (best === undefined || m.visibleAt < best.m.visibleAt
            || (m.visibleAt === best.m.visibleAt && m.timerSeq < best.m.timerSeq)) best = { ch, m };
        }
      }
      if (best === undefined) return;
      if (best.m.state === 'delayed') best.m.state = 'ready';
      else this.endLease(best.ch, best.m, 0);
    }
  }
}

function chan(target: string, owner: string, leaseMs: number, maxReceives: number | null, dlq: string | null): MChan {
  return { target, owner, msgs: [], leaseMs, maxReceives, dlq, nextSeq: 0, dedup: new Map(), grants: new Map() };
}

function newMsg(id: string, body: string, attributes: Record<string, string>, sentAt: number, seq: number): MMsg {
  return { id, body, attributes, sentAt, seq, state: 'ready', visibleAt: 0, timerSeq: 0, receiveCount: 0, receipt: null };
}

function allowed(q: MChan, user: string, perm: string): boolean {
  return q.owner === user || (q.grants.get(user)?.has(perm) ?? false);
}
