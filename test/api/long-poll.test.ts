import { describe, expect, test } from '@jest/globals';
import type { ApiDeps } from '../../src/api/deps.js';
import { ReadyWaiters, type WaitOutcome } from '../../src/api/long-poll.js';
import { receiveWithWait } from '../../src/api/receive.js';
import type { ReceivedView } from '../../src/broker/index.js';

/** Lets settled promises run their callbacks. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function track(p: Promise<WaitOutcome>): { outcome?: WaitOutcome } {
  const box: { outcome?: WaitOutcome } = {};
  void p.then((o) => (box.outcome = o));
  return box;
}

describe('ReadyWaiters', () => {
  test('an event since the empty receive ends the wait at once (no lost wake-up)', async () => {
    const w = new ReadyWaiters();
    const v = w.version('queue:a');
    w.notify('queue:a');
    expect(await w.wait({ target: 'queue:a', max: 1, sinceVersion: v, timeoutMs: 60_000 })).toBe('ready');
  });

  test('wakes waiters in FIFO order, one per event without a ready count', async () => {
    const w = new ReadyWaiters();
    const v = w.version('queue:a');
    const first = track(w.wait({ target: 'queue:a', max: 1, sinceVersion: v, timeoutMs: 60_000 }));
    const second = track(w.wait({ target: 'queue:a', max: 1, sinceVersion: v, timeoutMs: 60_000 }));
    const other = track(w.wait({ target: 'queue:b', max: 1, sinceVersion: 0, timeoutMs: 60_000 }));
    w.notify('queue:a');
    await flush();
    expect([first.outcome, second.outcome, other.outcome]).toEqual(['ready', undefined, undefined]);
    w.passOn('queue:a');
    await flush();
    expect(second.outcome).toBe('ready');
    expect(w.waitingCount()).toBe(1);
    w.close();
    await flush();
    expect(other.outcome).toBe('closed');
  });

  test('a target that is gone (no ready count) wakes every waiter', async () => {
    const w = new ReadyWaiters(() => undefined);
    const waits = [1, 2, 3].map(() => track(w.wait({ target: 'queue:gone', max: 1, sinceVersion: 0, timeoutMs: 60_000 })));
    w.notify('queue:gone');
    await flush();
    expect(waits.map((x) => x.outcome)).toEqual(['ready', 'ready', 'ready']);
  });

  test('wakes only as many waiters as the ready messages can serve', async () => {
    let ready = 5;
    const w = new ReadyWaiters(() => ready);
    const boxes = Array.from({ length: 10 }, () => track(w.wait({ target: 'queue:a', max: 2, sinceVersion: 0, timeoutMs: 60_000 })));
    w.notify('queue:a');
    await flush();
    // 5 messages, 2 per waiter: three waiters.
    expect(boxes.map((b) => b.outcome ?? '-')).toEqual(['ready', 'ready', 'ready', '-', '-', '-', '-', '-', '-', '-']);
    ready = 0;
    w.notify('queue:a');
    await flush();
    expect(boxes.filter((b) => b.outcome === 'ready')).toHaveLength(4);
    w.close();
  });

  test('a woken waiter that lost the race goes back to the head of the line', async () => {
    const w = new ReadyWaiters();
    const later = track(w.wait({ target: 'queue:a', max: 1, sinceVersion: 0, timeoutMs: 60_000 }));
    const again = track(w.wait({ target: 'queue:a', max: 1, sinceVersion: 0, timeoutMs: 60_000, front: true }));
    w.notify('queue:a');
    await flush();
    expect([again.outcome, later.outcome]).toEqual(['ready', undefined]);
    w.close();
  });

  test('timeout and abort end a wait and leave the line', async () => {
    const w = new ReadyWaiters();
    expect(await w.wait({ target: 'queue:a', max: 1, sinceVersion: 0, timeoutMs: 5 })).toBe('timeout');
    const controller = new AbortController();
    const p = w.wait({ target: 'queue:a', max: 1, sinceVersion: 0, timeoutMs: 60_000, signal: controller.signal });
    expect(w.waitingCount('queue:a')).toBe(1);
    controller.abort();
    expect(await p).toBe('aborted');
    expect(w.waitingCount()).toBe(0);
  });

  test('many waiters: one event costs one wake-up', async () => {
    const w = new ReadyWaiters(() => 1);
    const boxes = Array.from({ length: 1000 }, () => track(w.wait({ target: 'queue:hot', max: 1, sinceVersion: 0, timeoutMs: 60_000 })));
    w.notify('queue:hot');
    await flush();
    expect(boxes.filter((b) => b.outcome === 'ready')).toHaveLength(1);
    expect(w.waitingCount('queue:hot')).toBe(999);
    w.close();
  });
});

describe('ReadyWaiters memory', () => {
  test('versions of targets without waiters are bounded, and no wake-up is lost to the bound', async () => {
    const w = new ReadyWaiters(undefined, 100);
    const before = w.version('queue:evicted');
    w.notify('queue:evicted');
    const waiting = track(w.wait({ target: 'queue:kept', max: 1, sinceVersion: w.version('queue:kept'), timeoutMs: 60_000 }));
    for (let i = 0; i < 50_000; i++) w.notify(`queue:gone-${i}`);
    expect(w.trackedCount).toBeLessThanOrEqual(101);
    // queue:evicted's entry is gone, yet a receiver that read the old version still
    // learns that something happened.
    expect(await w.wait({ target: 'queue:evicted', max: 1, sinceVersion: before, timeoutMs: 60_000 })).toBe('ready');
    // The waiter on queue:kept was neither woken nor dropped by the churn.
    await flush();
    expect(waiting.outcome).toBeUndefined();
    w.notify('queue:kept');
    await flush();
    expect(waiting.outcome).toBe('ready');
  });
});

describe('receiveWithWait', () => {
  const deps = (waiters: ReadyWaiters) => ({ waiters }) as unknown as ApiDeps;
  const message = { id: '1-0' } as ReceivedView;

  test('a receive answered at once never asks for the client-gone signal (no AbortController per request)', async () => {
    let asked = 0;
    const loop = (answers: ReceivedView[][], waitMs: number) => ({
      target: 'queue:a', max: 10, waitMs,
      clientGone: () => { asked++; return new AbortController().signal; },
      propose: (attempt: number) => Promise.resolve({ messages: answers[attempt] }),
    });
    const waiters = new ReadyWaiters();
    expect((await receiveWithWait(deps(waiters), loop([[message]], 20_000))).messages).toEqual([message]);
    expect((await receiveWithWait(deps(waiters), loop([[]], 0))).messages).toEqual([]);
    expect(asked).toBe(0);
    // An empty receive that waits listens for the client: its wait ends on the next event.
    const waiting = receiveWithWait(deps(waiters), loop([[], [message]], 20_000));
    await flush();
    expect(asked).toBe(1);
    waiters.notify('queue:a');
    expect((await waiting).messages).toEqual([message]);
  });
});
