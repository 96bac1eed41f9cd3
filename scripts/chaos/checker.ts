// Jepsen's total-queue checker adapted to a broker with leases and idempotency keys.
// Pure: history in, verdict out. Every send/publish attempt carries an idempotency key
// and unique payloads; retries reuse key and payloads, so a payload names one logical
// write. Subscriptions are checked each as its own queue.
import {
  deliveriesFromHistory, queueTarget, subTarget,
  type Delivery, type HistoryOp, type Target,
} from './ops.js';

export type WriteOutcome = 'ok' | 'fail' | 'info';

/** One logical send or publish: all attempts that shared an idempotency key. */
interface LogicalWrite {
  key: string;
  payloads: string[];
  outcome: WriteOutcome;
  firstInvokedAt: number;
  /** Completion time of the first ok attempt (the write had committed by then). */
  okAt: number | undefined;
}

export interface OrderViolation {
  target: Target;
  /** Committed first (acknowledged before `later` was first attempted)... */
  earlier: string;
  /** ...yet first delivered after this one. */
  later: string;
}

export interface DuplicateReport {
  target: Target;
  body: string;
  /** Distinct message ids that carried the body (more than one: enqueued twice). */
  ids: string[];
  /** receiveCounts seen more than once for one id (one lease delivered twice). */
  repeatedReceiveCounts: number[];
}

export interface TargetReport {
  target: Target;
  expected: number;
  acknowledged: number;
  unknown: number;
  failed: number;
  deliveredDistinct: number;
  deliveries: number;
  lost: string[];
  unexpected: string[];
  failedButDelivered: string[];
  recovered: string[];
  redeliveries: number;
  trueDuplicates: DuplicateReport[];
  redeliveredAfterAck: { id: string; ackedReceiveCount: number; deliveredReceiveCount: number }[];
  orderViolations: number;
  /** First deliveries that had a provably earlier message to compare with. */
  orderChecked: number;
  orderExamples: OrderViolation[];
}

export interface Availability {
  operations: number;
  ok: number;
  fail: number;
  info: number;
  okFraction: number;
  byFunction: Record<string, { ok: number; fail: number; info: number }>;
  /** Longest stretch of the window with no successful send/publish. */
  longestWriteGapMs: number;
  longestWriteGapFrom: number;
  longestWriteGapTo: number;
}

export interface CheckResult {
  valid: boolean;
  /** Human-readable reasons the run is invalid (empty when valid). */
  violations: string[];
  targets: TargetReport[];
  totals: {
    attemptedWrites: number; acknowledged: number; unknown: number; failed: number;
    lost: number; unexpected: number; failedButDelivered: number; recovered: number;
    redeliveries: number; trueDuplicates: number; redeliveredAfterAck: number;
    orderViolations: number; orderChecked: number; deliveries: number;
  };
  availability: Availability;
}

export interface CheckInput {
  history: readonly HistoryOp[];
  /** Defaults to the deliveries of every ok receive in the history. */
  deliveries?: readonly Delivery[];
  /** The window availability is measured over (defaults to the span of the writes). */
  window?: { from: number; to: number };
  /** Report at most this many examples per list (counts stay exact). */
  maxExamples?: number;
}

const WRITE_FUNCTIONS = new Set(['send', 'publish']);

export function checkHistory(input: CheckInput): CheckResult {
  const { history } = input;
  const maxExamples = input.maxExamples ?? 20;
  const deliveries = input.deliveries ?? deliveriesFromHistory(history);

  const writesByTarget = new Map<Target, LogicalWrite[]>();
  const attemptedBodies = new Map<Target, Set<string>>();
  const queueWrites = collectWrites(history, 'send');
  const topicWrites = collectWrites(history, 'publish');
  const subscriptions = collectSubscriptions(history);

  for (const [queue, writes] of queueWrites) {
    writesByTarget.set(queueTarget(queue), writes);
  }
  // A publish is owed to a subscription only if the subscription existed (its creation
  // was acknowledged) before the publish was first attempted; one racing the creation
  // may or may not reach it, so it is neither required nor unexpected.
  const notOwed = new Map<Target, Set<string>>();
  for (const sub of subscriptions) {
    const target = subTarget(sub.topic, sub.subscription);
    const writes = topicWrites.get(sub.topic) ?? [];
    const owed: LogicalWrite[] = [];
    const racing = new Set<string>();
    for (const w of writes) {
      if (sub.createdAt !== undefined && sub.createdAt < w.firstInvokedAt) owed.push(w);
      else if (sub.createInvokedAt === undefined || w.okAt === undefined || sub.createInvokedAt < w.okAt) {
        for (const p of w.payloads) racing.add(p);
      }
    }
    writesByTarget.set(target, owed);
    notOwed.set(target, racing);
    attemptedBodies.set(target, new Set([...owed.flatMap((w) => w.payloads), ...racing]));
  }
  for (const [target, writes] of writesByTarget) {
    if (!attemptedBodies.has(target)) attemptedBodies.set(target, new Set(writes.flatMap((w) => w.payloads)));
  }

  const deliveriesByTarget = groupBy(deliveries, (d) => d.target);
  const acks = collectAcks(history);
  const targets = new Set<Target>([...writesByTarget.keys(), ...deliveriesByTarget.keys()]);
  const reports: TargetReport[] = [];
  for (const target of [...targets].sort()) {
    reports.push(checkTarget(
      target, writesByTarget.get(target) ?? [], attemptedBodies.get(target) ?? new Set(),
      notOwed.get(target) ?? new Set(), deliveriesByTarget.get(target) ?? [], acks.get(target) ?? new Map<string, number>(),
      maxExamples,
    ));
  }

  const sum = (f: (r: TargetReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  const allWrites = [...queueWrites.values(), ...topicWrites.values()].flat();
  const totals = {
    attemptedWrites: allWrites.reduce((a, w) => a + w.payloads.length, 0),
    acknowledged: allWrites.filter((w) => w.outcome === 'ok').reduce((a, w) => a + w.payloads.length, 0),
    unknown: allWrites.filter((w) => w.outcome === 'info').reduce((a, w) => a + w.payloads.length, 0),
    failed: allWrites.filter((w) => w.outcome === 'fail').reduce((a, w) => a + w.payloads.length, 0),
    lost: sum((r) => r.lost.length),
    unexpected: sum((r) => r.unexpected.length),
    failedButDelivered: sum((r) => r.failedButDelivered.length),
    recovered: sum((r) => r.recovered.length),
    redeliveries: sum((r) => r.redeliveries),
    trueDuplicates: sum((r) => r.trueDuplicates.length),
    redeliveredAfterAck: sum((r) => r.redeliveredAfterAck.length),
    orderViolations: sum((r) => r.orderViolations),
    orderChecked: sum((r) => r.orderChecked),
    deliveries: deliveries.length,
  };
  const violations: string[] = [];
  if (totals.lost > 0) violations.push(`${totals.lost} acknowledged message(s) lost`);
  if (totals.unexpected > 0) violations.push(`${totals.unexpected} unexpected message(s) delivered`);
  if (totals.failedButDelivered > 0) violations.push(`${totals.failedButDelivered} failed write(s) delivered anyway`);
  if (totals.trueDuplicates > 0) violations.push(`${totals.trueDuplicates} true duplicate(s)`);
  if (totals.redeliveredAfterAck > 0) violations.push(`${totals.redeliveredAfterAck} message(s) redelivered after a successful ack`);
  if (totals.orderViolations > 0) violations.push(`${totals.orderViolations} order violation(s)`);

  return {
    valid: violations.length === 0,
    violations,
    targets: reports,
    totals,
    availability: availability(history, input.window),
  };
}

function checkTarget(
  target: Target,
  writes: LogicalWrite[],
  attempted: Set<string>,
  notOwed: Set<string>,
  deliveries: Delivery[],
  acked: Map<string, number>,
  maxExamples: number,
): TargetReport {
  const byBody = groupBy(deliveries, (d) => d.body);
  const lost: string[] = [];
  const failedButDelivered: string[] = [];
  const recovered: string[] = [];
  let acknowledged = 0; let unknown = 0; let failed = 0;
  for (const w of writes) {
    for (const p of w.payloads) {
      const delivered = byBody.has(p);
      if (w.outcome === 'ok') { acknowledged++; if (!delivered) lost.push(p); }
      if (w.outcome === 'info') { unknown++; if (delivered) recovered.push(p); }
      if (w.outcome === 'fail') { failed++; if (delivered) failedButDelivered.push(p); }
    }
  }
  const unexpected = [...byBody.keys()].filter((b) => !attempted.has(b));

  let redeliveries = 0;
  const trueDuplicates: DuplicateReport[] = [];
  for (const [body, ds] of byBody) {
    const ids = [...new Set(ds.map((d) => d.id))];
    const repeated: number[] = [];
    for (const [, sameId] of groupBy(ds, (d) => d.id)) {
      const counts = new Map<number, number>();
      for (const d of sameId) counts.set(d.receiveCount, (counts.get(d.receiveCount) ?? 0) + 1);
      for (const [rc, n] of counts) if (n > 1) repeated.push(rc);
      redeliveries += [...counts.keys()].filter((rc) => rc > 1).length;
    }
    if (ids.length > 1 || repeated.length > 0) trueDuplicates.push({ target, body, ids, repeatedReceiveCounts: repeated });
  }

  // An ack that succeeded for lease k deletes the message: no lease k' > k may follow.
  const redeliveredAfterAck: TargetReport['redeliveredAfterAck'] = [];
  for (const d of deliveries) {
    const ackedRc = acked.get(d.id);
    if (ackedRc !== undefined && d.receiveCount > ackedRc) {
      redeliveredAfterAck.push({ id: d.id, ackedReceiveCount: ackedRc, deliveredReceiveCount: d.receiveCount });
    }
  }

  const order = orderViolations(target, writes, deliveries, notOwed, maxExamples);
  return {
    target,
    expected: writes.reduce((a, w) => a + w.payloads.length, 0),
    acknowledged, unknown, failed,
    deliveredDistinct: byBody.size,
    deliveries: deliveries.length,
    lost,
    unexpected,
    failedButDelivered,
    recovered,
    redeliveries,
    trueDuplicates,
    redeliveredAfterAck,
    orderViolations: order.count,
    orderChecked: order.checked,
    orderExamples: order.examples,
  };
}

/**
 * Ready messages must be first delivered in commit order. What the history proves:
 * A committed before B when A was acknowledged before B's first attempt (or A precedes
 * B in one batch); receive R1 took effect before R2 when R1 completed before R2 was
 * invoked (or both are one answer, by position). Only first leases (receiveCount 1)
 * count: a later lease says nothing about when the message first became ready.
 */
function orderViolations(
  target: Target, writes: LogicalWrite[], deliveries: Delivery[], notOwed: Set<string>, maxExamples: number,
): { count: number; checked: number; examples: OrderViolation[] } {
  const firstLease = new Map<string, Delivery>();
  for (const d of deliveries) {
    if (d.receiveCount === 1 && !firstLease.has(d.body)) firstLease.set(d.body, d);
  }
  // Commit rank per payload: writes sorted by ack time, batch position as tiebreak.
  interface Ranked { body: string; okAt: number; firstInvokedAt: number; batchPos: number; key: string; lease: Delivery }
  const ranked: Ranked[] = [];
  for (const w of writes) {
    w.payloads.forEach((body, batchPos) => {
      const lease = firstLease.get(body);
      if (lease !== undefined && !notOwed.has(body)) {
        ranked.push({ body, okAt: w.okAt ?? Infinity, firstInvokedAt: w.firstInvokedAt, batchPos, key: w.key, lease });
      }
    });
  }
  const violators = new Map<string, OrderViolation>();
  const note = (earlier: string, later: string): void => {
    if (!violators.has(later)) violators.set(later, { target, earlier, later });
  };

  // Across receives: B violates if some A acknowledged before B's first attempt was
  // first leased by a receive invoked after B's receive completed.
  const byAck = ranked.filter((r) => r.okAt !== Infinity).sort((a, b) => a.okAt - b.okAt);
  const prefixMax: number[] = []; const prefixArg: number[] = [];
  byAck.forEach((r, i) => {
    const prev = i === 0 ? -Infinity : prefixMax[i - 1];
    if (r.lease.invokedAt > prev) { prefixMax.push(r.lease.invokedAt); prefixArg.push(i); }
    else { prefixMax.push(prev); prefixArg.push(prefixArg[i - 1]); }
  });
  let checked = 0;
  for (const b of ranked) {
    const n = countBelow(byAck, b.firstInvokedAt);
    if (n > 0) checked++;
    if (n > 0 && prefixMax[n - 1] > b.lease.completedAt) note(byAck[prefixArg[n - 1]].body, b.body);
  }

  // Within one receive answer and within one batch write: positions must agree.
  const rankOf = new Map(ranked.map((r) => [r.body, r]));
  const committedBefore = (a: Ranked, b: Ranked): boolean =>
    (a.key === b.key && a.batchPos < b.batchPos) || a.okAt < b.firstInvokedAt;
  for (const [, answer] of groupBy([...firstLease.values()], (d) => d.opId)) {
    const inAnswer = answer.map((d) => rankOf.get(d.body)).filter((r): r is Ranked => r !== undefined);
    for (const b of inAnswer) {
      for (const a of inAnswer) {
        if (a.lease.position > b.lease.position && committedBefore(a, b)) note(a.body, b.body);
      }
    }
  }
  for (const [, batch] of groupBy(ranked, (r) => r.key)) {
    for (const b of batch) {
      for (const a of batch) {
        if (a.batchPos < b.batchPos && a.lease.invokedAt > b.lease.completedAt) note(a.body, b.body);
      }
    }
  }
  return { count: violators.size, checked, examples: [...violators.values()].slice(0, maxExamples) };
}

function countBelow(sorted: { okAt: number }[], t: number): number {
  let lo = 0; let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid].okAt < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function collectWrites(history: readonly HistoryOp[], f: 'send' | 'publish'): Map<string, LogicalWrite[]> {
  interface Tracking { write: LogicalWrite; dest: string; pending: number; sawInfo: boolean }
  const byKey = new Map<string, Tracking>();
  const open = new Map<number, Tracking>();
  for (const op of history) {
    if (op.f !== f) continue;
    if (op.type === 'invoke') {
      const dest = op.f === 'send' ? op.value.queue : op.value.topic;
      let t = byKey.get(op.value.key);
      if (t === undefined) {
        const write: LogicalWrite = {
          key: op.value.key, payloads: op.value.payloads, outcome: 'info', firstInvokedAt: op.time, okAt: undefined,
        };
        t = { write, dest, pending: 0, sawInfo: false };
        byKey.set(op.value.key, t);
      }
      t.pending++;
      open.set(op.opId, t);
      continue;
    }
    const t = open.get(op.opId);
    if (t === undefined) continue;
    open.delete(op.opId);
    t.pending--;
    if (op.type === 'ok' && t.write.outcome !== 'ok') { t.write.outcome = 'ok'; t.write.okAt = op.time; }
    if (op.type === 'info') t.sawInfo = true;
  }
  const out = new Map<string, LogicalWrite[]>();
  for (const t of byKey.values()) {
    // Failed only if every attempt completed and certainly failed; an attempt never
    // completed (the run ended first) leaves the outcome unknown.
    if (t.write.outcome !== 'ok') t.write.outcome = t.pending === 0 && !t.sawInfo ? 'fail' : 'info';
    const list = out.get(t.dest) ?? [];
    list.push(t.write);
    out.set(t.dest, list);
  }
  return out;
}

interface SubscriptionInfo { topic: string; subscription: string; createInvokedAt?: number; createdAt?: number }

function collectSubscriptions(history: readonly HistoryOp[]): SubscriptionInfo[] {
  const subs = new Map<string, SubscriptionInfo>();
  for (const op of history) {
    if (op.f !== 'subscribe') continue;
    const id = subTarget(op.value.topic, op.value.subscription);
    const s = subs.get(id) ?? { topic: op.value.topic, subscription: op.value.subscription };
    if (op.type === 'invoke' && s.createInvokedAt === undefined) s.createInvokedAt = op.time;
    if (op.type === 'ok' && s.createdAt === undefined) s.createdAt = op.time;
    subs.set(id, s);
  }
  return [...subs.values()];
}

/** Per target: message id -> the highest receiveCount whose ack succeeded. */
function collectAcks(history: readonly HistoryOp[]): Map<Target, Map<string, number>> {
  const invoked = new Map<number, Extract<HistoryOp, { f: 'ack' }>['value']>();
  const out = new Map<Target, Map<string, number>>();
  for (const op of history) {
    if (op.f !== 'ack') continue;
    if (op.type === 'invoke') { invoked.set(op.opId, op.value); continue; }
    if (op.type !== 'ok') continue;
    const value = invoked.get(op.opId) ?? op.value;
    const stale = new Set(op.value.unknown ?? []);
    const acked = out.get(value.target) ?? new Map<string, number>();
    for (const item of value.items) {
      if (stale.has(item.receiptHandle)) continue;
      acked.set(item.id, Math.max(acked.get(item.id) ?? 0, item.receiveCount));
    }
    out.set(value.target, acked);
  }
  return out;
}

function availability(history: readonly HistoryOp[], window?: { from: number; to: number }): Availability {
  const byFunction: Availability['byFunction'] = {};
  let ok = 0; let fail = 0; let info = 0;
  const writeOks: number[] = [];
  const writeInvokes: number[] = [];
  for (const op of history) {
    if (op.f === 'setup') continue;
    if (op.type === 'invoke') { if (WRITE_FUNCTIONS.has(op.f)) writeInvokes.push(op.time); continue; }
    const stats = byFunction[op.f] ?? { ok: 0, fail: 0, info: 0 };
    stats[op.type]++;
    byFunction[op.f] = stats;
    if (op.type === 'ok') { ok++; if (WRITE_FUNCTIONS.has(op.f)) writeOks.push(op.time); }
    else if (op.type === 'fail') fail++;
    else info++;
  }
  const operations = ok + fail + info;
  const from = window?.from ?? writeInvokes.reduce((a, t) => Math.min(a, t), writeInvokes[0] ?? 0);
  const to = window?.to ?? writeOks.reduce((a, t) => Math.max(a, t), from);
  const points = [from, ...writeOks.filter((t) => t > from && t < to).sort((a, b) => a - b), to];
  let gap = 0; let gapFrom = from; let gapTo = from;
  for (let i = 1; i < points.length; i++) {
    if (points[i] - points[i - 1] > gap) { gap = points[i] - points[i - 1]; gapFrom = points[i - 1]; gapTo = points[i]; }
  }
  return {
    operations, ok, fail, info,
    okFraction: operations === 0 ? 1 : ok / operations,
    byFunction,
    longestWriteGapMs: gap, longestWriteGapFrom: gapFrom, longestWriteGapTo: gapTo,
  };
}

function groupBy<T, K>(items: Iterable<T>, key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]); else list.push(item);
  }
  return out;
}
