// SendBatcher: sends gathered within the linger window go as one request; a full batch
// goes at once; every caller gets its own message's answer; a failed batch fails each
// of its callers; a batch is retried with one key.
import { afterEach, describe, expect, test } from '@jest/globals';
import { MomClient } from '../../src/client/index.js';
import { drop, json, testServer, type TestServer } from './support.js';

/** Answers each batch with ids made of the bodies, so every caller can check its own. */
function echoIds(body: string): { messages: { id: string; deduplicated: boolean }[] } {
  const { messages } = JSON.parse(body) as { messages: { body: string }[] };
  return { messages: messages.map((m) => ({ id: `id-${m.body}`, deduplicated: false })) };
}

describe('send batching', () => {
  const servers: TestServer[] = [];
  const clients: MomClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const setup = async (handler: Parameters<typeof testServer>[0]) => {
    const s = await testServer(handler);
    servers.push(s);
    const c = new MomClient({ urls: [s.url], token: 't', retry: { baseMs: 5, maxMs: 20 } });
    clients.push(c);
    return { s, q: c.queue('q') };
  };

  test('sends within the linger window share one request and each gets its own answer', async () => {
    const { s, q } = await setup((req, res) => json(res, 201, echoIds(req.body)));
    const b = q.batcher({ lingerMs: 50 });
    const answers = await Promise.all(['a', 'b', 'c'].map((body) => b.send({ body })));
    expect(answers.map((a) => a.id)).toEqual(['id-a', 'id-b', 'id-c']);
    expect(s.seen).toHaveLength(1);
    expect(JSON.parse(s.seen[0].body)).toEqual({ messages: [{ body: 'a' }, { body: 'b' }, { body: 'c' }] });
  });

  test('a full batch goes without waiting for the linger window; the rest follows in order', async () => {
    const { s, q } = await setup((req, res) => json(res, 201, echoIds(req.body)));
    const b = q.batcher({ lingerMs: 60_000, maxMessages: 100 });
    const bodies = Array.from({ length: 250 }, (_, i) => `m${i}`);
    const pending = bodies.map((body) => b.send({ body }));
    await b.flush(); // the last 50 would otherwise wait a minute
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.id)).toEqual(bodies.map((m) => `id-${m}`));
    expect(s.seen.map((r) => (JSON.parse(r.body) as { messages: unknown[] }).messages.length)).toEqual([100, 100, 50]);
  });

  test('a batch never passes maxBytes', async () => {
    const { s, q } = await setup((req, res) => json(res, 201, echoIds(req.body)));
    const b = q.batcher({ lingerMs: 5, maxBytes: 200 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => b.send({ body: `${i}`.padEnd(60, 'x') })));
    for (const r of s.seen) expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(200);
    expect(s.seen.length).toBeGreaterThanOrEqual(3);
  });

  test('a batch whose answer was lost is retried once with the same key', async () => {
    let calls = 0;
    const { s, q } = await setup((req, res) => (++calls === 1 ? drop(res) : json(res, 201, echoIds(req.body))));
    const b = q.batcher({ lingerMs: 10 });
    const answers = await Promise.all(['a', 'b'].map((body) => b.send({ body })));
    expect(answers.map((a) => a.id)).toEqual(['id-a', 'id-b']);
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1].headers['idempotency-key']).toBe(s.seen[0].headers['idempotency-key']);
    expect(s.seen[1].body).toBe(s.seen[0].body);
  });

  test('an error answer fails every caller of that batch, and only them', async () => {
    const { q } = await setup((req, res) => {
      const { messages } = JSON.parse(req.body) as { messages: { body: string }[] };
      if (messages.some((m) => m.body === 'bad')) json(res, 400, { error: { code: 'validation_failed', message: 'no' } });
      else json(res, 201, echoIds(req.body));
    });
    const b = q.batcher({ lingerMs: 20 });
    const first = [b.send({ body: 'ok1' }), b.send({ body: 'bad' })];
    const settled1 = await Promise.allSettled(first);
    const later = await b.send({ body: 'ok2' });
    expect(settled1.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((settled1[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'validation_failed' });
    expect(later.id).toBe('id-ok2');
  });
});
