// The stream's send coalescer with producer frames (docs/STREAM.md, Producers), against a
// route table that records what it is asked to serve: frames of one producer are merged
// with their sequences and answered one by one; a repeated sequence starts a new batch;
// an answer that is not per frame fails the frames instead of leaving them unanswered.
import { describe, expect, test } from '@jest/globals';
import type { ProducerFrames } from '../../src/broker/index.js';
import { SendCoalescer, partOf, type Part } from '../../src/api/stream/coalesce.js';
import type { Caller, Prepared, RouteTable } from '../../src/api/stream/operations.js';
import type { Answer, RouteSpec } from '../../src/api/route.js';

const spec = { operationId: 'sendMessages' } as RouteSpec;
const caller = (): Caller => ({ user: 'u', token: 't', clientAddress: '127.0.0.1', signal: new AbortController().signal });

function prepared(seq: number, body: unknown, id = 'p'): Prepared {
  const count = (body as { messages?: unknown[] }).messages?.length ?? 1;
  return { spec, params: { name: 'q' }, body, idempotencyKey: undefined, producer: { id, frames: [{ seq, count }] } };
}

/** Serves with `answer(merged)` and records each served call. */
function table(answer: (p: Prepared) => Answer): { routes: RouteTable; served: Prepared[] } {
  const served: Prepared[] = [];
  const routes = { serve: async (p: Prepared) => (served.push(p), answer(p)) } as unknown as RouteTable;
  return { routes, served };
}

function collect(coalescer: SendCoalescer, parts: Prepared[]): Promise<Array<{ err?: unknown; answer?: Answer }>> {
  return Promise.all(parts.map((p) => new Promise<{ err?: unknown; answer?: Answer }>((resolve) => {
    const part: Part = partOf(p, (err, answer) => resolve({ err, answer }));
    coalescer.add(part);
  })));
}

describe('coalescing producer frames', () => {
  test('one request with every frame and its count; each frame gets its own answer in its own shape', async () => {
    const { routes, served } = table(() => ({
      status: 201,
      body: {
        frames: [
          { status: 201, messages: [{ id: 'a', deduplicated: true }] },
          { status: 409, error: { code: 'conflict', message: 'below', details: { seq: 4 } } },
          { status: 201, messages: [{ id: 'b', deduplicated: false }, { id: 'c', deduplicated: false }] },
        ],
      },
    }));
    const got = await collect(new SendCoalescer(routes, caller), [
      prepared(3, { body: 'x' }), prepared(4, { body: 'y' }), prepared(5, { messages: [{ body: 'z1' }, { body: 'z2' }] }),
    ]);
    expect(served).toHaveLength(1);
    expect(served[0].producer).toEqual({ id: 'p', frames: [{ seq: 3, count: 1 }, { seq: 4, count: 1 }, { seq: 5, count: 2 }] } satisfies ProducerFrames);
    expect(served[0].body).toEqual({ messages: [{ body: 'x' }, { body: 'y' }, { body: 'z1' }, { body: 'z2' }] });
    expect(got[0].answer).toEqual({ status: 201, body: { id: 'a', deduplicated: true } });
    expect(got[1].err).toMatchObject({ code: 'conflict', status: 409, details: { seq: 4 } });
    expect(got[2].answer).toEqual({ status: 201, body: { messages: [{ id: 'b', deduplicated: false }, { id: 'c', deduplicated: false }] } });
  });

  test('a sequence repeated on the connection goes into the next batch; other producers are not mixed in', async () => {
    const { routes, served } = table((p) => ({
      status: 201,
      body: { frames: p.producer!.frames.map(() => ({ status: 201, messages: [{ id: 'i', deduplicated: false }] })) },
    }));
    await collect(new SendCoalescer(routes, caller), [prepared(1, { body: 'a' }), prepared(1, { body: 'a' }), prepared(2, { body: 'b' }, 'other')]);
    expect(served.map((p) => p.producer)).toEqual([
      { id: 'p', frames: [{ seq: 1, count: 1 }] },
      { id: 'p', frames: [{ seq: 1, count: 1 }] },
      { id: 'other', frames: [{ seq: 2, count: 1 }] },
    ]);
  });

  test('an answer without per-frame parts (a leader that knows no producers) fails each frame', async () => {
    const { routes } = table(() => ({ status: 201, body: { messages: [{ id: 'a', deduplicated: false }, { id: 'b', deduplicated: false }] } }));
    const got = await collect(new SendCoalescer(routes, caller), [prepared(1, { body: 'a' }), prepared(2, { body: 'b' })]);
    for (const g of got) expect(g.err).toMatchObject({ code: 'internal' });
  });
});
