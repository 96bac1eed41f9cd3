import { decodeCommand, DEFAULT_LIMITS, encodeCommand, PRODUCER_WINDOW, type Command } from '../../src/broker/index.js';
import { PRODUCER_IDLE_MS, ProducerWindow } from '../../src/broker/producers.js';
import { Harness } from './harness.js';
import { V3_ENTRIES_BASE64, V3_IMAGE_BASE64, V3_TIME } from './testdata/snapshot-v3.js';

type Frame = { seq: number; count: number };

function setup(): Harness {
  const h = new Harness();
  h.register('alice', 'bob');
  h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
  h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] });
  return h;
}

/** One frame of producer `id`: a single message (batch false) or a batch. */
function frame(seq: number, bodies: string[] | string, id = 'p1', user = 'alice'): Command {
  const batch = Array.isArray(bodies);
  const list = batch ? bodies : [bodies];
  return { type: 'queue.send', user, queue: 'q', batch, messages: list.map((body) => ({ body })), producer: { id, frames: [{ seq, count: list.length }] } };
}

/** Several frames merged into one batch command, as the stream merges frames. */
function merged(frames: Array<[number, string[]]>, id = 'p1'): Command {
  return {
    type: 'queue.send', user: 'alice', queue: 'q', batch: true,
    messages: frames.flatMap(([, bodies]) => bodies.map((body) => ({ body }))),
    producer: { id, frames: frames.map(([seq, bodies]): Frame => ({ seq, count: bodies.length })) },
  };
}

function ready(h: Harness): number {
  return (h.broker.getQueue('alice', 'q') as { value: { stats: { ready: number } } }).value.stats.ready;
}

function bodies(h: Harness): string[] {
  const got = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 100, visibilityTimeoutMs: 0 });
  return got.messages.map((m: { body: string }) => m.body);
}

describe('producer sequences', () => {
  test('a resent sequence is answered with its first ids, deduplicated, and stores nothing', () => {
    const h = setup();
    const first = h.ok(frame(0, 'a'));
    expect(first).toEqual({ id: `${h.index.toString(36)}-0`, deduplicated: false });
    const batch = h.ok(frame(1, ['b', 'c']));
    expect(h.ok(frame(0, 'a'))).toEqual({ id: first.id, deduplicated: true });
    expect(h.ok(frame(1, ['b', 'c']))).toEqual({ messages: batch.messages.map((m: { id: string }) => ({ id: m.id, deduplicated: true })) });
    expect(ready(h)).toBe(3);
    expect(bodies(h)).toEqual(['a', 'b', 'c']);
  });

  test('sequences may commit out of order: each is applied once, and each resend is answered from the window', () => {
    const h = setup();
    const ids = new Map<number, string>();
    for (const seq of [5, 3, 9, 4, 0]) ids.set(seq, h.ok(frame(seq, `m${seq}`)).id);
    for (const seq of [0, 3, 4, 5, 9]) expect(h.ok(frame(seq, `m${seq}`))).toEqual({ id: ids.get(seq), deduplicated: true });
    expect(bodies(h)).toEqual(['m5', 'm3', 'm9', 'm4', 'm0']);
    // A gap below the highest is still open: 7 was never sent.
    expect(h.ok(frame(7, 'm7')).deduplicated).toBe(false);
  });

  test('another producer, or another user with the same producer id, has its own sequences', () => {
    const h = setup();
    const a = h.ok(frame(0, 'a'));
    const b = h.ok(frame(0, 'b', 'p2'));
    const c = h.ok(frame(0, 'c', 'p1', 'bob'));
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect([a, b, c].every((s) => !s.deduplicated)).toBe(true);
    expect(h.broker.producerCount('alice')).toBe(2);
    expect(h.broker.producerCount('bob')).toBe(1);
  });

  test(`a sequence more than ${PRODUCER_WINDOW} below the highest is refused, not applied`, () => {
    const h = setup();
    const oldest = h.ok(frame(0, 'zero'));
    h.ok(frame(PRODUCER_WINDOW - 1, 'top'));
    // Still in the window: answered.
    expect(h.ok(frame(0, 'zero'))).toEqual({ id: oldest.id, deduplicated: true });
    h.ok(frame(PRODUCER_WINDOW, 'past'));
    const r = h.apply(frame(0, 'zero'));
    expect(r).toEqual({
      ok: false,
      error: {
        code: 'conflict',
        message: expect.stringContaining('below its window'),
        details: { reason: 'sequence_below_window', producer: 'p1', seq: 0, oldest: 1 },
      },
    });
    // Never answered and below the window: refused too (its fate cannot be known).
    h.ok(frame(3000, 'far'));
    expect(h.apply(frame(1500, 'late'))).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(bodies(h)).toEqual(['zero', 'top', 'past', 'far']);
  });

  test('merged frames: each answered on its own, new ones sent at their own positions in the entry', () => {
    const h = setup();
    const first = h.ok(merged([[0, ['a', 'b']], [1, ['c']]]));
    expect(first.frames).toEqual([
      { ok: true, messages: [{ id: `${h.index.toString(36)}-0`, deduplicated: false }, { id: `${h.index.toString(36)}-1`, deduplicated: false }] },
      { ok: true, messages: [{ id: `${h.index.toString(36)}-2`, deduplicated: false }] },
    ]);
    // After a reconnect 1 is resent together with the new 2 and 3: 1 replays, 2 and 3
    // are sent from positions 1..3 of this entry.
    const again = h.ok(merged([[1, ['c']], [2, ['d', 'e']], [3, ['f']]]));
    const at = h.index.toString(36);
    expect(again.frames).toEqual([
      { ok: true, messages: [{ id: first.frames[1].messages[0].id, deduplicated: true }] },
      { ok: true, messages: [{ id: `${at}-1`, deduplicated: false }, { id: `${at}-2`, deduplicated: false }] },
      { ok: true, messages: [{ id: `${at}-3`, deduplicated: false }] },
    ]);
    // Bodies are read from the right positions.
    expect(bodies(h)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // A single resend of a merged frame answers in its own shape.
    expect(h.ok(frame(2, ['d', 'e']))).toEqual({ messages: again.frames[1].messages.map((m: { id: string }) => ({ id: m.id, deduplicated: true })) });
  });

  test('merged frames with one below the window: that frame is refused, the rest go on', () => {
    const h = setup();
    h.ok(frame(2000, 'top'));
    const r = h.ok(merged([[10, ['stale']], [2001, ['new']]]));
    expect(r.frames[0]).toMatchObject({ ok: false, error: { code: 'conflict', details: { seq: 10 } } });
    expect(r.frames[1]).toMatchObject({ ok: true, messages: [{ deduplicated: false }] });
    expect(bodies(h)).toEqual(['top', 'new']);
  });

  test('errors are answers too: a resend gets the first error, even after the cause is gone', () => {
    const h = setup();
    const cmd: Command = { ...frame(0, 'x'), queue: 'later' } as Command;
    const first = h.apply(cmd);
    expect(first).toMatchObject({ ok: false, error: { code: 'not_found' } });
    h.ok({ type: 'queue.create', user: 'alice', name: 'later' });
    expect(h.apply(cmd)).toEqual(first);
    // A merged command whose new frames fail: each new frame gets the error and keeps it.
    const m = h.ok({ ...merged([[0, ['x']], [1, ['y']]]), queue: 'nope' } as Command);
    expect(m.frames[0]).toEqual({ ok: false, error: first.ok ? undefined : first.error });
    expect(m.frames[1]).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(h.apply(frame(1, 'y'))).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  test('deduplication ids still apply inside a frame, and such answers replay as they were', () => {
    const h = setup();
    const a = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [{ body: 'a', deduplicationId: 'd' }] });
    const cmd: Command = { type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: [{ body: 'a', deduplicationId: 'd' }, { body: 'b' }], producer: { id: 'p', frames: [{ seq: 0, count: 2 }] } };
    const first = h.ok(cmd);
    expect(first.messages).toEqual([{ id: a.id, deduplicated: true }, { id: `${h.index.toString(36)}-1`, deduplicated: false }]);
    expect(h.ok(cmd).messages).toEqual([{ id: a.id, deduplicated: true }, { id: first.messages[1].id, deduplicated: true }]);
    expect(ready(h)).toBe(2);
  });

  test('topics: a publish resent by its producer is answered from the window', () => {
    const h = setup();
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name: 's' });
    const cmd: Command = { type: 'topic.publish', user: 'alice', topic: 't', batch: false, messages: [{ body: 'x' }], producer: { id: 'p', frames: [{ seq: 7, count: 1 }] } };
    const first = h.ok(cmd);
    expect(h.ok(cmd)).toEqual({ id: first.id, deduplicated: true });
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 1 } } });
  });

  test(`an idle producer is forgotten after ${PRODUCER_IDLE_MS} ms of replicated time; use keeps it`, () => {
    const h = setup();
    const first = h.ok(frame(0, 'a'));
    h.advance(PRODUCER_IDLE_MS - 1);
    expect(h.ok(frame(0, 'a'))).toEqual({ id: first.id, deduplicated: true }); // the use renews it
    h.advance(PRODUCER_IDLE_MS - 1);
    h.tick();
    expect(h.broker.producerCount('alice')).toBe(1);
    h.advance(1);
    h.tick();
    expect(h.broker.producerCount('alice')).toBe(0);
    // Forgotten: the same sequence is a new send.
    expect(h.ok(frame(0, 'a')).deduplicated).toBe(false);
    expect(ready(h)).toBe(2);
  });

  test('producers per user are a quota: a new one past it is refused, changing nothing', () => {
    const h = setup();
    h.limits({ producersPerUser: 2 });
    h.ok(frame(0, 'a', 'p1'));
    h.ok(frame(0, 'b', 'p2'));
    expect(h.apply(frame(0, 'c', 'p3'))).toEqual({
      ok: false,
      error: { code: 'quota_exceeded', message: expect.stringContaining('producersPerUser'), details: { limit: 'producersPerUser', max: 2, current: 2, requested: 1 } },
    });
    expect(ready(h)).toBe(2);
    // Known producers go on; other users have their own count.
    expect(h.ok(frame(1, 'c', 'p1')).deduplicated).toBe(false);
    expect(h.ok(frame(0, 'd', 'p3', 'bob')).deduplicated).toBe(false);
    // Once one is forgotten there is room again.
    h.advance(PRODUCER_IDLE_MS);
    h.tick();
    expect(h.ok(frame(0, 'e', 'p3')).deduplicated).toBe(false);
  });

  test('a snapshot keeps the windows: a restored replica answers resends alike and hashes the same', () => {
    const h = setup();
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [{ body: 'a', deduplicationId: 'd' }] });
    h.ok(frame(0, 'x'));
    h.ok(merged([[1, ['y', 'z']], [2, ['w']]]));
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [{ body: 'a', deduplicationId: 'd' }], producer: { id: 'p1', frames: [{ seq: 3, count: 1 }] } });
    h.apply({ ...frame(4, 'e'), queue: 'nope' } as Command);
    for (let seq = 5; seq < 40; seq++) h.ok(frame(seq, `s${seq}`, 'p2'));
    h.advance(1000);
    h.ok(frame(0, 'bob', 'p1', 'bob'));
    const copy = h.restored();
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    expect(copy.broker.producerCount('alice')).toBe(2);
    const resends: Command[] = [frame(0, 'x'), frame(1, ['y', 'z']), frame(2, ['w']), frame(3, 'a'), frame(4, 'e'), frame(20, 's20', 'p2'), frame(41, 'new', 'p2')];
    for (const c of resends) expect(copy.apply(c)).toEqual(h.apply(c));
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    // Idle expiry runs alike after the restore (the order of use is kept): bob's
    // producer, used last, outlives alice's.
    for (const r of [h, copy]) {
      r.advance(500);
      r.ok(frame(1, 'bob again', 'p1', 'bob'));
      r.advance(PRODUCER_IDLE_MS - 250);
      r.tick();
    }
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    expect(h.broker.producerCount('bob')).toBe(1);
    expect(h.broker.producerCount('alice')).toBe(0);
  });

  test('encoding: the producer survives the binary form; frame counts must cover the messages', () => {
    const cmd = merged([[4, ['a']], [9, ['b', 'c']]]);
    expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
    const h = setup();
    h.fails({ ...cmd, producer: { id: 'p1', frames: [{ seq: 4, count: 1 }] } } as Command, 'validation_failed');
    h.fails({ ...cmd, producer: { id: 'p1', frames: [{ seq: 4, count: 1 }, { seq: 4, count: 2 }] } } as Command, 'validation_failed');
    h.fails({ ...cmd, producer: { id: 'no spaces', frames: [{ seq: 4, count: 1 }, { seq: 9, count: 2 }] } } as Command, 'validation_failed');
    expect(ready(h)).toBe(0);
  });
});

describe('a producer window', () => {
  test(`holds the answers of the last ${PRODUCER_WINDOW} sequences in at most ${PRODUCER_WINDOW} slots, whatever was sent`, () => {
    const w = new ProducerWindow('alice', 'p', 0);
    for (let seq = 0; seq < 5 * PRODUCER_WINDOW; seq++) w.put(seq, { ok: true, sent: [{ id: `x-${seq}`, deduplicated: false }] }, seq, 0);
    const held = w.held();
    expect(held).toHaveLength(PRODUCER_WINDOW);
    expect(held[0].seq).toBe(4 * PRODUCER_WINDOW);
    expect(w.get(4 * PRODUCER_WINDOW - 1)).toBeUndefined();
    expect(w.get(5 * PRODUCER_WINDOW - 1)).toEqual({ ok: true, sent: [{ id: `${(5 * PRODUCER_WINDOW - 1).toString(36)}-0`, deduplicated: false }] });
  });

  test('a sparse producer keeps a small ring', () => {
    const w = new ProducerWindow('alice', 'p', 0);
    for (let seq = 0; seq < 10; seq++) w.put(seq, { ok: true, sent: [{ id: 'i', deduplicated: false }] }, 1, 0);
    expect(w.copy().held()).toHaveLength(10);
    expect((w as unknown as { seqs: Float64Array }).seqs.length).toBe(16);
  });
});

describe('older images and entries', () => {
  test('an image written before producers restores without any, takes producers, and its new image restores alike', () => {
    const h = new Harness();
    V3_ENTRIES_BASE64.forEach((e, i) => h.log.add(i + 1, Buffer.from(e, 'base64')));
    h.broker.restore(Buffer.from(V3_IMAGE_BASE64, 'base64'));
    h.index = V3_ENTRIES_BASE64.length;
    h.time = V3_TIME;
    expect(h.broker.limits().producersPerUser).toBe(DEFAULT_LIMITS.producersPerUser);
    expect(h.broker.producerCount('alice')).toBe(0);
    const first = h.ok(frame(0, 'four'));
    expect(h.ok(frame(0, 'four'))).toEqual({ id: first.id, deduplicated: true });
    const copy = h.restored();
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    expect(copy.apply(frame(0, 'four'))).toEqual(h.apply(frame(0, 'four')));
  });

  test('limits set by an entry of an earlier version (no producersPerUser) keep its default', () => {
    const { producersPerUser: _, ...older } = { ...DEFAULT_LIMITS, queuesPerUser: 7 };
    const json = JSON.stringify({ type: 'cluster.limits', limits: older });
    // Validated JSON (tag 3) as earlier leaders wrote it, and plain JSON.
    for (const bytes of [Buffer.concat([Buffer.from([3]), Buffer.from(json)]), Buffer.from(json)]) {
      const h = new Harness();
      expect(h.applyBytes(new Uint8Array(bytes))).toEqual({ ok: true, value: null });
      expect(h.broker.limits()).toEqual({ ...DEFAULT_LIMITS, queuesPerUser: 7 });
    }
  });
});
