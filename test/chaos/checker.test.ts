import { checkHistory } from '../../scripts/chaos/checker.js';
import type { DeliveredMessage, HistoryOp, OpType } from '../../scripts/chaos/ops.js';

/** Builds hand-made histories with explicit times. */
class H {
  readonly ops: HistoryOp[] = [];
  private opId = 1;

  private pair(f: HistoryOp['f'], value: unknown, at: number, done: number, type: Exclude<OpType, 'invoke'> | null, result?: unknown): number {
    const opId = this.opId++;
    this.ops.push({ process: 'p', type: 'invoke', f, opId, time: at, value } as HistoryOp);
    if (type !== null) this.ops.push({ process: 'p', type, f, opId, time: done, value: result ?? value } as HistoryOp);
    return opId;
  }

  send(queue: string, key: string, payloads: string[], at: number, done: number, type: Exclude<OpType, 'invoke'> | null = 'ok'): this {
    this.pair('send', { queue, key, payloads }, at, done, type);
    return this;
  }

  publish(topic: string, key: string, payloads: string[], at: number, done: number, type: Exclude<OpType, 'invoke'> | null = 'ok'): this {
    this.pair('publish', { topic, key, payloads }, at, done, type);
    return this;
  }

  subscribe(topic: string, subscription: string, at: number, done: number): this {
    this.pair('subscribe', { topic, subscription }, at, done, 'ok');
    return this;
  }

  receive(target: string, messages: [id: string, body: string, receiveCount: number][], at: number, done: number): this {
    const ms: DeliveredMessage[] = messages.map(([id, body, receiveCount]) => ({ id, body, receiveCount, receiptHandle: `${id}#${receiveCount}` }));
    this.pair('receive', { target }, at, done, 'ok', { target, messages: ms });
    return this;
  }

  ack(target: string, items: [id: string, receiveCount: number][], at: number, done: number, stale: string[] = []): this {
    const value = { target, items: items.map(([id, receiveCount]) => ({ id, receiveCount, receiptHandle: `${id}#${receiveCount}` })) };
    this.pair('ack', value, at, done, 'ok', { ...value, unknown: stale });
    return this;
  }
}

/** A clean two-queue, one-topic history used as the base of the faulty ones. */
function clean(): H {
  return new H()
    .subscribe('t', 's1', 0, 1)
    .subscribe('t', 's2', 0, 2)
    .send('q', 'k1', ['a'], 10, 20)
    .send('q', 'k2', ['b', 'c'], 30, 40)
    .publish('t', 'k3', ['x'], 30, 35)
    .receive('queue:q', [['1', 'a', 1], ['2', 'b', 1]], 50, 60)
    .ack('queue:q', [['1', 1], ['2', 1]], 61, 62)
    .receive('queue:q', [['3', 'c', 1]], 70, 80)
    .receive('sub:t/s1', [['9', 'x', 1]], 50, 60)
    .receive('sub:t/s2', [['9', 'x', 1]], 50, 60);
}

describe('checker', () => {
  test('a clean history is valid and every count is zero', () => {
    const r = checkHistory({ history: clean().ops });
    expect(r.violations).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.totals).toMatchObject({
      attemptedWrites: 4, acknowledged: 4, lost: 0, unexpected: 0, recovered: 0,
      trueDuplicates: 0, redeliveries: 0, orderViolations: 0, failedButDelivered: 0,
    });
    expect(r.targets.map((t) => t.target)).toEqual(['queue:q', 'sub:t/s1', 'sub:t/s2']);
  });

  test('an acknowledged send never delivered is lost', () => {
    const h = clean().send('q', 'k4', ['d'], 90, 95);
    const r = checkHistory({ history: h.ops });
    expect(r.valid).toBe(false);
    expect(r.totals.lost).toBe(1);
    expect(r.targets.find((t) => t.target === 'queue:q')?.lost).toEqual(['d']);
  });

  test('a publish missing from one subscription is lost there only', () => {
    const h = clean().publish('t', 'k5', ['y'], 90, 95).receive('sub:t/s1', [['10', 'y', 1]], 100, 110);
    const r = checkHistory({ history: h.ops });
    expect(r.totals.lost).toBe(1);
    expect(r.targets.find((t) => t.target === 'sub:t/s2')?.lost).toEqual(['y']);
    expect(r.targets.find((t) => t.target === 'sub:t/s1')?.lost).toEqual([]);
  });

  test('a delivery nobody sent is unexpected', () => {
    const h = clean().receive('queue:q', [['7', 'zzz', 1]], 90, 95);
    const r = checkHistory({ history: h.ops });
    expect(r.valid).toBe(false);
    expect(r.totals.unexpected).toBe(1);
    expect(r.targets.find((t) => t.target === 'queue:q')?.unexpected).toEqual(['zzz']);
  });

  test('a publish acknowledged before a subscription existed is unexpected there', () => {
    const h = clean().subscribe('t', 's3', 40, 41).receive('sub:t/s3', [['9', 'x', 1]], 50, 60);
    expect(checkHistory({ history: h.ops }).totals.unexpected).toBe(1);
  });

  test('a publish racing a subscription creation is neither owed nor unexpected', () => {
    const h = clean().subscribe('t', 's4', 100, 120).publish('t', 'k6', ['r'], 110, 115)
      .receive('sub:t/s1', [['11', 'r', 1]], 130, 131).receive('sub:t/s2', [['11', 'r', 1]], 130, 131);
    const r = checkHistory({ history: h.ops });
    expect(r.violations).toEqual([]);
    const h2 = clean().subscribe('t', 's4', 100, 120).publish('t', 'k6', ['r'], 110, 115)
      .receive('sub:t/s1', [['11', 'r', 1]], 130, 131).receive('sub:t/s2', [['11', 'r', 1]], 130, 131)
      .receive('sub:t/s4', [['11', 'r', 1]], 130, 131);
    expect(checkHistory({ history: h2.ops }).violations).toEqual([]);
  });

  test('one body under two message ids is a true duplicate; a lease redelivery is not', () => {
    const redelivered = clean().receive('queue:q', [['3', 'c', 2]], 90, 95);
    const ok = checkHistory({ history: redelivered.ops });
    expect(ok.valid).toBe(true);
    expect(ok.totals.redeliveries).toBe(1);
    expect(ok.totals.trueDuplicates).toBe(0);

    const dup = clean().receive('queue:q', [['4', 'c', 1]], 90, 95);
    const r = checkHistory({ history: dup.ops });
    expect(r.valid).toBe(false);
    expect(r.totals.trueDuplicates).toBe(1);
    expect(r.targets.find((t) => t.target === 'queue:q')?.trueDuplicates[0]).toMatchObject({ body: 'c', ids: ['3', '4'] });
  });

  test('one lease delivered by two receives is a true duplicate', () => {
    const h = clean().receive('queue:q', [['3', 'c', 1]], 90, 95);
    const r = checkHistory({ history: h.ops });
    expect(r.totals.trueDuplicates).toBe(1);
    expect(r.targets.find((t) => t.target === 'queue:q')?.trueDuplicates[0].repeatedReceiveCounts).toEqual([1]);
  });

  test('an unknown-outcome send that was delivered is recovered, not a violation', () => {
    const h = clean().send('q', 'k7', ['u'], 90, 95, 'info').receive('queue:q', [['12', 'u', 1]], 100, 110);
    const r = checkHistory({ history: h.ops });
    expect(r.valid).toBe(true);
    expect(r.totals.recovered).toBe(1);
    expect(r.targets.find((t) => t.target === 'queue:q')?.recovered).toEqual(['u']);
    // Not delivered: still fine, it may never have happened.
    const h2 = clean().send('q', 'k7', ['u'], 90, 95, 'info');
    expect(checkHistory({ history: h2.ops }).valid).toBe(true);
  });

  test('a retried write is ok when any attempt is ok; failed only when every attempt failed', () => {
    const retried = clean().send('q', 'k8', ['v'], 90, 91, 'info').send('q', 'k8', ['v'], 92, 93, 'ok');
    const r = checkHistory({ history: retried.ops });
    expect(r.totals.lost).toBe(1);
    expect(r.totals.unknown).toBe(0);

    const failed = clean().send('q', 'k9', ['w'], 90, 91, 'fail').send('q', 'k9', ['w'], 92, 93, 'fail')
      .receive('queue:q', [['13', 'w', 1]], 100, 110);
    const f = checkHistory({ history: failed.ops });
    expect(f.totals.failed).toBe(1);
    expect(f.totals.failedButDelivered).toBe(1);
    expect(f.valid).toBe(false);

    const pending = clean().send('q', 'k10', ['n'], 90, 91, 'fail').send('q', 'k10', ['n'], 92, 0, null);
    expect(checkHistory({ history: pending.ops }).totals.unknown).toBe(1);
  });

  test('a message redelivered after its lease was acked is a violation; a stale ack is not', () => {
    const bad = clean().receive('queue:q', [['1', 'a', 2]], 90, 95);
    expect(checkHistory({ history: bad.ops }).totals.redeliveredAfterAck).toBe(1);

    const stale = new H().send('q', 'k1', ['a'], 0, 1)
      .receive('queue:q', [['1', 'a', 1]], 2, 3)
      .ack('queue:q', [['1', 1]], 40, 41, ['1#1'])
      .receive('queue:q', [['1', 'a', 2]], 35, 36);
    const r = checkHistory({ history: stale.ops });
    expect(r.violations).toEqual([]);
    expect(r.totals.redeliveries).toBe(1);
  });

  test('first deliveries against commit order', () => {
    // a acked before b was sent, but b's first lease completed before a's was asked for.
    const bad = new H().send('q', 'k1', ['a'], 0, 10).send('q', 'k2', ['b'], 20, 30)
      .receive('queue:q', [['2', 'b', 1]], 40, 50)
      .receive('queue:q', [['1', 'a', 1]], 60, 70);
    const r = checkHistory({ history: bad.ops });
    expect(r.totals.orderViolations).toBe(1);
    expect(r.targets[0].orderExamples[0]).toMatchObject({ earlier: 'a', later: 'b' });
    expect(r.targets[0].orderChecked).toBe(1);

    // Same answer, wrong positions.
    const inAnswer = new H().send('q', 'k1', ['a'], 0, 10).send('q', 'k2', ['b'], 20, 30)
      .receive('queue:q', [['2', 'b', 1], ['1', 'a', 1]], 40, 50);
    expect(checkHistory({ history: inAnswer.ops }).totals.orderViolations).toBe(1);

    // Concurrent sends or concurrent receives prove nothing.
    const concurrent = new H().send('q', 'k1', ['a'], 0, 25).send('q', 'k2', ['b'], 20, 30)
      .receive('queue:q', [['2', 'b', 1]], 40, 50).receive('queue:q', [['1', 'a', 1]], 60, 70);
    expect(checkHistory({ history: concurrent.ops }).totals.orderViolations).toBe(0);
    const overlapping = new H().send('q', 'k1', ['a'], 0, 10).send('q', 'k2', ['b'], 20, 30)
      .receive('queue:q', [['2', 'b', 1]], 40, 65).receive('queue:q', [['1', 'a', 1]], 60, 70);
    expect(checkHistory({ history: overlapping.ops }).totals.orderViolations).toBe(0);

    // A redelivery (receiveCount 2) is not a first delivery.
    const redelivery = new H().send('q', 'k1', ['a'], 0, 10).send('q', 'k2', ['b'], 20, 30)
      .receive('queue:q', [['2', 'b', 1]], 40, 50).receive('queue:q', [['1', 'a', 2]], 60, 70);
    expect(checkHistory({ history: redelivery.ops }).totals.orderViolations).toBe(0);
  });

  test('availability: ok fraction and the longest window without a successful write', () => {
    const h = new H().send('q', 'k1', ['a'], 0, 10).send('q', 'k2', ['b'], 11, 500, 'info')
      .send('q', 'k2', ['b'], 501, 900).send('q', 'k3', ['c'], 901, 950)
      .receive('queue:q', [['1', 'a', 1], ['2', 'b', 1], ['3', 'c', 1]], 960, 970);
    const r = checkHistory({ history: h.ops, window: { from: 0, to: 1000 } });
    expect(r.availability).toMatchObject({
      operations: 5, ok: 4, info: 1, fail: 0, longestWriteGapMs: 890, longestWriteGapFrom: 10, longestWriteGapTo: 900,
    });
    expect(r.availability.okFraction).toBeCloseTo(0.8);
    expect(r.valid).toBe(true);
  });
});

describe('checker: retried receives', () => {
  test("a retry's cached answer dates the lease from the first attempt", () => {
    // Receive r1 (key rk) leases a at ~5 but its answer is lost; b is leased at 20-25;
    // the retry of rk at 30-35 returns the cached a. No violation: a was taken first.
    const h = new H().send('q', 'k1', ['a'], 0, 1).send('q', 'k2', ['b'], 2, 3);
    h.ops.push({ process: 'c1', type: 'invoke', f: 'receive', opId: 100, time: 5, value: { target: 'queue:q', key: 'rk' } });
    h.ops.push({ process: 'c1', type: 'info', f: 'receive', opId: 100, time: 8, value: { target: 'queue:q', key: 'rk' } });
    h.receive('queue:q', [['2', 'b', 1]], 20, 25);
    h.ops.push({ process: 'c1', type: 'invoke', f: 'receive', opId: 101, time: 30, value: { target: 'queue:q', key: 'rk' } });
    h.ops.push({
      process: 'c1', type: 'ok', f: 'receive', opId: 101, time: 35,
      value: { target: 'queue:q', key: 'rk', messages: [{ id: '1', body: 'a', receiveCount: 1, receiptHandle: 'x' }] },
    });
    expect(checkHistory({ history: h.ops }).totals.orderViolations).toBe(0);
    // Without the shared key the same timings would be a violation.
    const noKey = h.ops.map((op) => (op.f === 'receive' ? { ...op, value: { ...op.value, key: undefined } } : op)) as HistoryOp[];
    expect(checkHistory({ history: noKey }).totals.orderViolations).toBe(1);
  });
});
