import type { CommandResult } from '../../src/broker/index.js';
import { decodeRelocate, encodeRelocate } from '../../src/broker/relocate.js';
import { Harness } from './harness.js';
import { V3_ENTRIES_BASE64, V3_IMAGE_BASE64, V3_TIME } from './testdata/snapshot-v3.js';

/** Relocation (README, Relocation): the leader copies old live bodies into a new entry;
 *  every holder reads them from there and the old entries are no longer pinned. */
function setup(): Harness {
  const h = new Harness();
  h.register('alice');
  h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
  h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 2, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
  return h;
}

function send(h: Harness, bodies: string[], queue = 'q', extra: { delayMs?: number } = {}): number {
  h.ok({ type: 'queue.send', user: 'alice', queue, batch: true, messages: bodies.map((body) => ({ body, attributes: { b: body }, ...extra })) });
  return h.index;
}

function receive(h: Harness, queue = 'q', max = 10): { id: string; body: string; attributes: Record<string, string>; receiptHandle: string; receiveCount: number }[] {
  return h.ok({ type: 'queue.receive', user: 'alice', queue, max }).messages;
}

/** Relocates everything the broker offers below `below`, as the leader does. */
function relocate(h: Harness, below = h.index + 1, maxBytes = 1 << 22): { moved: number; count: number } {
  const candidates = h.broker.relocationCandidates(maxBytes, below);
  if (candidates.length === 0) return { moved: 0, count: 0 };
  const bytes = h.broker.relocateCommand(candidates, h.log.read);
  const r = h.applyBytes(bytes) as CommandResult<{ moved: number }>;
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return { moved: r.value.moved, count: candidates.length };
}

/** Many later sends, all acked: dead log behind the old messages. */
function churn(h: Harness, n: number, queue = 'other'): void {
  for (let i = 0; i < n; i++) {
    send(h, [`x${i}`], queue);
    const got = receive(h, queue, 1);
    h.ok({ type: 'queue.ack', user: 'alice', queue, receiptHandles: got.map((m) => m.receiptHandle) });
  }
}

describe('messages.relocate', () => {
  test('encodes bodies like a send and decodes its moves', () => {
    const bytes = encodeRelocate([
      { index: 7, pos: 3, body: 'a', attributes: {} },
      { index: 9, pos: 0, body: 'ü', attributes: { k: 'v' } },
    ]);
    expect(decodeRelocate(bytes)).toEqual({ type: 'messages.relocate', moves: [{ index: 7, pos: 3 }, { index: 9, pos: 0 }] });
  });

  test('fresh messages: receive answers the same ids and bodies, retainFrom moves past the old entries', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'alice', name: 'other' });
    const at = send(h, ['old1', 'old2']);
    churn(h, 20);
    expect(h.broker.retainFrom()).toBe(at);
    const { moved } = relocate(h, at + 1);
    expect(moved).toBe(2);
    const relocateAt = h.index;
    expect(h.broker.retainFrom()).toBe(relocateAt);
    h.log.dropBelow(relocateAt);
    const got = receive(h);
    expect(got.map((m) => [m.id, m.body, m.attributes])).toEqual([
      [`${at.toString(36)}-0`, 'old1', { b: 'old1' }],
      [`${at.toString(36)}-1`, 'old2', { b: 'old2' }],
    ]);
    h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: got.map((m) => m.receiptHandle) });
    expect(h.broker.retainFrom()).toBeUndefined();
  });

  test('inflight, returned and delayed deliveries keep leases and receive counts; DLQ copies move too', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'alice', name: 'other' });
    const sentAt = send(h, ['lease', 'back', 'dead']);
    const delayedAt = send(h, ['later'], 'q', { delayMs: 60_000 });
    // 'lease' stays leased, 'back' is returned by a nack, 'dead' reaches the DLQ.
    const first = receive(h, 'q', 3);
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [first[2].receiptHandle] });
    const second = receive(h, 'q', 1);
    expect(second.map((m) => [m.body, m.receiveCount])).toEqual([['dead', 2]]);
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [second[0].receiptHandle] });
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [first[1].receiptHandle] });
    expect(h.broker.getQueue('alice', 'dlq')).toMatchObject({ ok: true, value: { stats: { ready: 1 } } });
    churn(h, 10);
    const before = h.broker.stateHash();
    expect(relocate(h, delayedAt + 1).moved).toBe(4);
    expect(h.broker.stateHash()).not.toBe(before);
    const relocateAt = h.index;
    expect(h.broker.retainFrom()).toBe(relocateAt);
    h.log.dropBelow(relocateAt);
    // The leased message keeps its receipt: acking it works.
    h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [first[0].receiptHandle] });
    const back = receive(h, 'q', 10);
    expect(back.map((m) => [m.body, m.receiveCount, m.id])).toEqual([['back', 2, `${sentAt.toString(36)}-1`]]);
    const dead = receive(h, 'dlq', 10);
    expect(dead.map((m) => [m.body, m.attributes, m.id])).toEqual([['dead', { b: 'dead' }, `${sentAt.toString(36)}-2`]]);
    h.advance(60_000);
    const later = receive(h, 'q', 10);
    expect(later.map((m) => m.body)).toEqual(['later']);
  });

  test('a move whose message was acked meanwhile is a no-op', () => {
    const h = setup();
    const at = send(h, ['a', 'b']);
    const candidates = h.broker.relocationCandidates(1 << 20, at + 1);
    const bytes = h.broker.relocateCommand(candidates, h.log.read);
    const got = receive(h, 'q', 1);
    h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [got[0].receiptHandle] });
    const r = h.applyBytes(bytes);
    expect(r).toEqual({ ok: true, value: { moved: 1 } });
    expect(h.broker.retainFrom()).toBe(h.index);
    expect(receive(h).map((m) => m.body)).toEqual(['b']);
    // Applied again (a second leader's proposal of the same moves): nothing is at the
    // old locations any more.
    expect(h.applyBytes(bytes)).toEqual({ ok: true, value: { moved: 0 } });
  });

  test('a topic message shared by subscriptions is carried once and every holder moves', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    for (const name of ['s1', 's2', 's3']) h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name });
    const at = h.index + 1;
    h.ok({ type: 'topic.publish', user: 'alice', topic: 't', batch: false, messages: [{ body: 'shared' }] });
    // s1 leases it (a delivery holds it), s2 and s3 have not taken it (the log row holds it).
    const leased = h.ok({ type: 'subscription.receive', user: 'alice', topic: 't', subscription: 's1', max: 1 }).messages;
    const candidates = h.broker.relocationCandidates(1 << 20, at + 1);
    expect(candidates).toEqual([{ index: at, pos: 0, bytes: 6 }]);
    h.applyBytes(h.broker.relocateCommand(candidates, h.log.read));
    expect(h.broker.retainFrom()).toBe(h.index);
    h.log.dropBelow(h.index);
    for (const sub of ['s2', 's3']) {
      const got = h.ok({ type: 'subscription.receive', user: 'alice', topic: 't', subscription: sub, max: 1 }).messages;
      expect(got.map((m: { body: string; id: string }) => [m.body, m.id])).toEqual([['shared', leased[0].id]]);
    }
    const replica = h.restored();
    expect(replica.broker.stateHash()).toBe(h.broker.stateHash());
    h.ok({ type: 'subscription.ack', user: 'alice', topic: 't', subscription: 's1', receiptHandles: [leased[0].receiptHandle] });
  });

  test('the snapshot keeps relocated locations (fresh rows and deliveries) and replicas agree', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'alice', name: 'other' });
    send(h, ['f1', 'f2', 'f3']);
    const leased = receive(h, 'q', 1);
    churn(h, 5);
    const replica = new Harness(h.log.copy());
    relocate(h);
    const relocateAt = h.index;
    // A replica that applies the same entries ends in the same state.
    const log = h.log;
    for (let i = 1; i <= relocateAt; i++) {
      replica.index = i - 1;
      replica.applyBytes(log.read(i)!);
    }
    expect(replica.broker.stateHash()).toBe(h.broker.stateHash());
    const restored = h.restored();
    expect(restored.broker.stateHash()).toBe(h.broker.stateHash());
    expect(restored.broker.retainFrom()).toBe(relocateAt);
    restored.log.dropBelow(relocateAt);
    expect(receive(restored, 'q', 10).map((m) => m.body)).toEqual(['f2', 'f3']);
    restored.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [leased[0].receiptHandle] });
    // The leases run out: the returned deliveries still read the relocated bodies.
    restored.advance(2000);
    restored.tick();
    expect(receive(restored, 'q', 10).map((m) => [m.body, m.receiveCount])).toEqual([['f2', 2], ['f3', 2]]);
  });

  test('a relocated message can be relocated again', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'alice', name: 'other' });
    send(h, ['once']);
    churn(h, 3);
    relocate(h);
    churn(h, 3);
    expect(relocate(h).moved).toBe(1);
    expect(h.broker.retainFrom()).toBe(h.index);
    h.log.dropBelow(h.index);
    expect(receive(h).map((m) => m.body)).toEqual(['once']);
  });

  test('candidates: oldest first, bounded by bytes, only below the given index', () => {
    const h = setup();
    const a = send(h, ['aaaa', 'bbbb']);
    const b = send(h, ['cccc']);
    expect(h.broker.relocationCandidates(1 << 20, b)).toEqual([{ index: a, pos: 0, bytes: 9 }, { index: a, pos: 1, bytes: 9 }]);
    expect(h.broker.relocationCandidates(10, b + 1)).toEqual([{ index: a, pos: 0, bytes: 9 }]);
    expect(h.broker.relocationCandidates(1, b + 1)).toHaveLength(1);
    expect(h.broker.relocationCandidates(1 << 20, a)).toEqual([]);
  });
});

describe('relocation candidates in a backlog', () => {
  test('rows relocated already are passed over: repeated relocations walk down the FIFO', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'alice', name: 'other' });
    // 3 sends of 1000 messages: more than one check's worth of FIFO head (1024 candidates).
    const sends: number[] = [];
    for (let s = 0; s < 3; s++) {
      h.ok({ type: 'queue.send', user: 'alice', queue: 'other', batch: true, messages: Array.from({ length: 100 }, (_, i) => ({ body: `o${s}-${i}` })) });
      sends.push(h.index);
      for (let k = 0; k < 9; k++) {
        h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: Array.from({ length: 100 }, (_, i) => ({ body: `${s}-${k}-${i}` })) });
      }
    }
    const end = h.index + 1;
    let rounds = 0;
    while (h.broker.retainFrom()! < end) {
      const moved = relocate(h, end).moved;
      expect(moved).toBeGreaterThan(0);
      rounds++;
    }
    expect(rounds).toBe(Math.ceil(3000 / 1024));
    h.log.dropBelow(end);
    const got: string[] = [];
    for (let r = 0; r < 27; r++) got.push(...receive(h, 'q', 100).map((m) => m.body));
    expect(got).toHaveLength(2700);
    expect(got[0]).toBe('0-0-0');
    expect(got[2699]).toBe('2-8-99');
    expect(receive(h, 'other', 100).map((m) => m.body)[0]).toBe('o0-0');
  });
});

describe('a version-3 snapshot (before relocation)', () => {
  test('restores, its messages relocate, and the version-4 image written then restores to the same state', () => {
    const h = new Harness();
    V3_ENTRIES_BASE64.forEach((e, i) => h.log.add(i + 1, Buffer.from(e, 'base64')));
    h.broker.restore(Buffer.from(V3_IMAGE_BASE64, 'base64'));
    h.index = V3_ENTRIES_BASE64.length;
    h.time = V3_TIME;
    const sendAt = 5;
    expect(h.broker.retainFrom()).toBe(sendAt);
    expect(relocate(h).moved).toBe(4);
    h.log.dropBelow(h.index);
    const copy = h.restored();
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    const got = receive(copy, 'q', 10);
    expect(got.map((m) => [m.body, m.attributes])).toEqual([['two', {}], ['three', {}]]);
    const pub = copy.ok({ type: 'subscription.receive', user: 'alice', topic: 't', subscription: 's', max: 10 }).messages;
    expect(pub.map((m: { body: string }) => m.body)).toEqual(['pub']);
    copy.advance(30_000);
    copy.tick();
    expect(receive(copy, 'q', 10).map((m) => [m.body, m.attributes, m.receiveCount])).toEqual([['one', { k: 'v' }, 2], ['two', {}, 2], ['three', {}, 2]]);
  });
});
