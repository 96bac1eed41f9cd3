// Idempotent producers (README, Producers): a stream client names itself with a producer
// id and numbers its send and publish frames. Per producer the broker keeps the answers
// of its last PRODUCER_WINDOW sequences, so a frame resent after a reconnect is
// answered as it first was and stores nothing; memory per producer is bounded by the
// window, whatever the message rate. Pure: time is the entry's.
import type { ProducerFrames } from './commands.js';
import { BrokerError, type BrokerErrorBody } from './errors.js';
import { PRODUCER_WINDOW } from './limits.js';
import { messageId } from './message.js';
import { checkLimit, type BrokerLimits } from './quotas.js';
import type { SentView } from './results.js';
import type { PublishMeta, SendMeta } from './send-codec.js';

/** A producer not heard from for this long (replicated time) is forgotten: as long as an
 *  Idempotency-Key is honoured, far longer than a client's reconnects take. */
export const PRODUCER_IDLE_MS = 10 * 60_000;

/** What a frame answered, as its window keeps it. */
export type FrameAnswer = { ok: true; sent: SentView[] } | { ok: false; error: BrokerErrorBody };

/** One frame's part of the answer of a command that carries several (docs/STREAM.md). */
export type FrameOutcome = { ok: true; messages: SentView[] } | { ok: false; error: BrokerErrorBody };

/** The value of a send or publish carrying several frames of a producer. */
export interface FramesView {
  frames: FrameOutcome[];
}

/** A kept answer for snapshots: its messages' entry, first position and count (`count`
 *  0: the answer is `other`, kept as it was). */
export interface HeldSlot {
  seq: number;
  index: number;
  pos: number;
  count: number;
  other: FrameAnswer | undefined;
}

const EMPTY = -1;
const FIRST_CAPACITY = 16;

/**
 * The answers of one producer's recent sequences: a ring indexed by sequence, holding
 * every answered sequence within PRODUCER_WINDOW of the highest. The usual answer (all
 * messages new, so their ids are consecutive positions of one entry) is three numbers
 * in typed arrays; anything else (deduplicated messages, errors) is kept whole aside.
 * The ring starts small and doubles up to PRODUCER_WINDOW as sequences need it:
 * an 18 KiB ring at most per producer (~20 KB with its objects, measured).
 */
export class ProducerWindow {
  /** Highest sequence answered; -1 before the first. */
  highest = -1;
  private seqs: Float64Array;
  private index: Float64Array;
  private pos: Uint8Array;
  private count: Uint8Array;
  private readonly others: Map<number, FrameAnswer>;

  constructor(
    readonly owner: string,
    readonly id: string,
    /** Replicated time of the last command naming this producer. */
    public lastUsed: number,
    capacity = FIRST_CAPACITY,
    others = new Map<number, FrameAnswer>(),
  ) {
    this.seqs = new Float64Array(capacity).fill(EMPTY);
    this.index = new Float64Array(capacity);
    this.pos = new Uint8Array(capacity);
    this.count = new Uint8Array(capacity);
    this.others = others;
  }

  /** Whether an answer of `seq` would still be kept. */
  holds(seq: number): boolean {
    return seq > this.highest - PRODUCER_WINDOW;
  }

  /** The lowest sequence still held. */
  get oldest(): number {
    return Math.max(0, this.highest - PRODUCER_WINDOW + 1);
  }

  get(seq: number): FrameAnswer | undefined {
    if (!this.holds(seq)) return undefined;
    const slot = seq % this.seqs.length;
    if (this.seqs[slot] !== seq) return undefined;
    const n = this.count[slot];
    if (n === 0) return this.others.get(seq);
    const sent = new Array<SentView>(n);
    for (let k = 0; k < n; k++) sent[k] = { id: messageId(this.index[slot], this.pos[slot] + k), deduplicated: false };
    return { ok: true, sent };
  }

  /** Keeps the answer of `seq`, whose messages lie from position `firstPos` on in log
   *  entry `index`. */
  put(seq: number, answer: FrameAnswer, index: number, firstPos: number): void {
    if (seq > this.highest) this.highest = seq;
    const compact = answer.ok && answer.sent.length > 0 && answer.sent.every((m) => !m.deduplicated);
    if (compact) this.place({ seq, index, pos: firstPos, count: answer.sent.length, other: undefined });
    else this.place({ seq, index: 0, pos: 0, count: 0, other: answer });
  }

  /** The answers held, in sequence order. */
  held(): HeldSlot[] {
    const out: HeldSlot[] = [];
    for (let slot = 0; slot < this.seqs.length; slot++) {
      const seq = this.seqs[slot];
      if (seq === EMPTY || !this.holds(seq)) continue;
      const count = this.count[slot];
      out.push({ seq, index: this.index[slot], pos: this.pos[slot], count, other: count === 0 ? this.others.get(seq) : undefined });
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Restores an answer `held()` gave (`highest` is restored first). */
  load(h: HeldSlot): void {
    this.place(h);
  }

  /** A copy that later puts leave alone (snapshot capture). */
  copy(): ProducerWindow {
    const w = new ProducerWindow(this.owner, this.id, this.lastUsed, this.seqs.length, new Map(this.others));
    w.highest = this.highest;
    w.seqs.set(this.seqs);
    w.index.set(this.index);
    w.pos.set(this.pos);
    w.count.set(this.count);
    return w;
  }

  private place(h: HeldSlot): void {
    if (!this.holds(h.seq)) return; // a later frame of the same command moved the window past it
    const slot = this.slotFor(h.seq);
    const old = this.seqs[slot];
    if (old !== EMPTY && this.count[slot] === 0) this.others.delete(old);
    this.seqs[slot] = h.seq;
    this.index[slot] = h.index;
    this.pos[slot] = h.pos;
    this.count[slot] = h.count;
    if (h.count === 0) this.others.set(h.seq, h.other as FrameAnswer);
  }

  /** The slot of `seq`; the ring grows while that slot holds another sequence still
   *  in the window (at PRODUCER_WINDOW slots two held sequences never share one). */
  private slotFor(seq: number): number {
    for (;;) {
      const slot = seq % this.seqs.length;
      const held = this.seqs[slot];
      if (held === EMPTY || held === seq || !this.holds(held) || this.seqs.length >= PRODUCER_WINDOW) return slot;
      this.grow();
    }
  }

  private grow(): void {
    const kept = this.held();
    const capacity = Math.min(PRODUCER_WINDOW, this.seqs.length * 2);
    this.seqs = new Float64Array(capacity).fill(EMPTY);
    this.index = new Float64Array(capacity);
    this.pos = new Uint8Array(capacity);
    this.count = new Uint8Array(capacity);
    const others = new Map(this.others);
    this.others.clear();
    for (const h of kept) {
      const slot = h.seq % capacity;
      this.seqs[slot] = h.seq;
      this.index[slot] = h.index;
      this.pos[slot] = h.pos;
      this.count[slot] = h.count;
      if (h.count === 0) this.others.set(h.seq, others.get(h.seq) as FrameAnswer);
    }
  }
}

function slotKey(owner: string, id: string): string {
  return `${owner}\n${id}`;
}

/**
 * Every user's producers, least recently used first (a Map's insertion order: a use
 * moves the producer to the back), so forgetting idle ones looks at the oldest only.
 * Counted per user against `producersPerUser`.
 */
export class ProducerTable {
  private readonly windows = new Map<string, ProducerWindow>();
  private readonly perOwner = new Map<string, number>();

  get size(): number {
    return this.windows.size;
  }

  /** Producers a user has now. */
  count(owner: string): number {
    return this.perOwner.get(owner) ?? 0;
  }

  /** The producer's window, used at `now`: a new one is counted against the owner's
   *  limit (quota_exceeded past it, nothing created). */
  use(owner: string, id: string, now: number, limits: BrokerLimits): ProducerWindow {
    const k = slotKey(owner, id);
    let w = this.windows.get(k);
    if (w !== undefined) {
      this.windows.delete(k);
    } else {
      const n = this.count(owner);
      checkLimit(limits, 'producersPerUser', n, 1, `user '${owner}' has ${n} producers`);
      w = new ProducerWindow(owner, id, now);
      this.perOwner.set(owner, n + 1);
    }
    w.lastUsed = now;
    this.windows.set(k, w);
    return w;
  }

  /** Forgets producers idle for PRODUCER_IDLE_MS. */
  expire(now: number): void {
    for (const [k, w] of this.windows) {
      if (now - w.lastUsed < PRODUCER_IDLE_MS) break;
      this.windows.delete(k);
      const n = this.count(w.owner) - 1;
      if (n === 0) this.perOwner.delete(w.owner);
      else this.perOwner.set(w.owner, n);
    }
  }

  /** Least recently used first, for snapshots. */
  values(): IterableIterator<ProducerWindow> {
    return this.windows.values();
  }

  /** Restores a producer (in the order values() gave them). */
  load(w: ProducerWindow): void {
    this.windows.set(slotKey(w.owner, w.id), w);
    this.perOwner.set(w.owner, this.count(w.owner) + 1);
  }
}

/**
 * A send or publish of a producer's frames. Each frame is answered on its own: a
 * sequence answered before gets that answer again (every message `deduplicated: true`),
 * one below the window is refused (`conflict`: its answer is no longer known, so it
 * must not be applied again either), and the others are sent together, as one batch
 * of the entry's messages at their own positions (`run`). One frame answers as the
 * command would without a producer; several answer `{frames: [...]}`.
 */
export function applyProducerSend<C extends SendMeta | PublishMeta>(
  table: ProducerTable,
  c: C,
  producer: ProducerFrames,
  now: number,
  limits: BrokerLimits,
  index: number,
  run: (c: C, positions: number[] | undefined) => SentView[],
): SentView | { messages: SentView[] } | FramesView {
  const w = table.use(c.user, producer.id, now, limits);
  const answers: FrameAnswer[] = new Array<FrameAnswer>(producer.frames.length);
  const fresh: Array<{ at: number; seq: number; start: number; count: number }> = [];
  let start = 0;
  producer.frames.forEach((f, at) => {
    if (!w.holds(f.seq)) {
      answers[at] = { ok: false, error: belowWindow(producer.id, f.seq, w.oldest) };
    } else {
      const first = w.get(f.seq);
      if (first !== undefined) answers[at] = replayed(first);
      else fresh.push({ at, seq: f.seq, start, count: f.count });
    }
    start += f.count;
  });
  if (fresh.length > 0) {
    let sent: SentView[] | undefined;
    let error: BrokerErrorBody | undefined;
    try {
      if (fresh.length === producer.frames.length) {
        sent = run(c, undefined); // the usual case: every frame is new
      } else {
        const positions: number[] = [];
        for (const f of fresh) for (let k = 0; k < f.count; k++) positions.push(f.start + k);
        sent = run({ ...c, messages: positions.map((p) => c.messages[p]) }, positions);
      }
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      error = err.toBody();
    }
    let offset = 0;
    for (const f of fresh) {
      const answer: FrameAnswer = sent !== undefined ? { ok: true, sent: sent.slice(offset, offset + f.count) } : { ok: false, error: error! };
      offset += f.count;
      w.put(f.seq, answer, index, f.start);
      answers[f.at] = answer;
    }
  }
  if (answers.length === 1) {
    const [a] = answers;
    if (!a.ok) throw new BrokerError(a.error.code, a.error.message, a.error.details);
    return c.batch ? { messages: a.sent } : a.sent[0];
  }
  return { frames: answers.map((a): FrameOutcome => (a.ok ? { ok: true, messages: a.sent } : { ok: false, error: a.error })) };
}

function replayed(a: FrameAnswer): FrameAnswer {
  return a.ok ? { ok: true, sent: a.sent.map((m) => ({ id: m.id, deduplicated: true })) } : a;
}

function belowWindow(id: string, seq: number, oldest: number): BrokerErrorBody {
  return new BrokerError(
    'conflict',
    `sequence ${seq} of producer '${id}' is below its window (sequences from ${oldest} are kept): its answer is no longer known`,
    { reason: 'sequence_below_window', producer: id, seq, oldest },
  ).toBody();
}
