// Sends and publishes without an Idempotency-Key that arrive together (frames read from
// one socket read, before the next turn of the event loop) to the same queue or topic are
// committed as one batch command of up to MAX_BATCH messages, and each frame is answered
// with its own part of the batch's answer: what REST would have answered it (a single
// message's {id, deduplicated}, or a batch's {messages}). One log entry per read instead
// of one per frame is what lets a stream confirm tens of thousands of messages a second.
// Frames with a key are committed alone: the key names that request's answer. Frames of
// one producer are merged with their sequences (docs/STREAM.md, Producers), and the
// batch answers each frame on its own ({frames: [...]}: a frame resent may replay while
// the next one is new).
import { MAX_BATCH } from '../../broker/commands.js';
import type { SentView } from '../../broker/index.js';
import { ApiError, type ApiErrorCode } from '../errors.js';
import type { FrameBody } from '../producer.js';
import type { Answer } from '../route.js';
import type { Caller, Prepared, RouteTable } from './operations.js';

export interface Part {
  prepared: Prepared;
  /** The frame's messages as the route parsed them. */
  messages: unknown[];
  /** A `message` frame (answered with one SentView) rather than a `messages` one. */
  single: boolean;
  done(err: unknown, answer?: Answer): void;
}

export function partOf(prepared: Prepared, done: Part['done']): Part {
  const body = prepared.body as { messages?: unknown[] };
  const single = body.messages === undefined;
  return { prepared, messages: single ? [prepared.body] : body.messages!, single, done };
}

export class SendCoalescer {
  private groups = new Map<string, Part[]>();
  private scheduled = false;

  constructor(
    private readonly routes: RouteTable,
    private readonly caller: () => Caller,
  ) {}

  add(part: Part): void {
    const key = `${part.prepared.spec.operationId}\n${JSON.stringify(part.prepared.params)}\n${part.prepared.producer?.id ?? ''}`;
    let group = this.groups.get(key);
    if (!group) {
      group = [];
      this.groups.set(key, group);
    }
    group.push(part);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        if (this.scheduled) this.flush();
      });
    }
  }

  /** Commits what was gathered now: before a request that is not coalesced, so that the
   *  requests of a connection reach the log in the order their frames came. */
  flush(): void {
    this.scheduled = false;
    const groups = this.groups;
    this.groups = new Map();
    for (const group of groups.values()) {
      let chunk: Part[] = [];
      let size = 0;
      // A producer's sequence appears once per command (a client repeating one on a
      // connection gets it answered twice, from the window the second time).
      const seqs = new Set<number>();
      for (const part of group) {
        const seq = part.prepared.producer?.frames[0].seq;
        if ((size + part.messages.length > MAX_BATCH || (seq !== undefined && seqs.has(seq))) && chunk.length > 0) {
          this.commit(chunk);
          chunk = [];
          size = 0;
          seqs.clear();
        }
        chunk.push(part);
        size += part.messages.length;
        if (seq !== undefined) seqs.add(seq);
      }
      if (chunk.length > 0) this.commit(chunk);
    }
  }

  private commit(parts: Part[]): void {
    const caller = this.caller();
    if (parts.length === 1) {
      const [part] = parts;
      this.routes.serve(part.prepared, caller).then((answer) => part.done(undefined, answer), (err: unknown) => part.done(err));
      return;
    }
    const first = parts[0].prepared;
    const merged: Prepared = { ...first, body: { messages: parts.flatMap((p) => p.messages) }, idempotencyKey: undefined };
    if (first.producer !== undefined) {
      merged.producer = { id: first.producer.id, frames: parts.flatMap((p) => p.prepared.producer!.frames) };
    }
    this.routes.serve(merged, caller).then(
      (answer) => {
        if (merged.producer !== undefined) {
          answerFrames(parts, answer);
          return;
        }
        const sent = (answer.body as { messages: SentView[] }).messages;
        let at = 0;
        for (const part of parts) {
          const mine = sent.slice(at, at + part.messages.length);
          at += part.messages.length;
          part.done(undefined, { status: answer.status, body: part.single ? mine[0] : { messages: mine } });
        }
      },
      (err: unknown) => {
        for (const part of parts) part.done(err);
      },
    );
  }
}

/** Each frame's own answer out of a producer's batch: its messages in the shape of its
 *  frame, or its error. */
function answerFrames(parts: readonly Part[], answer: Answer): void {
  const frames = (answer.body as { frames?: FrameBody[] } | undefined)?.frames;
  if (!Array.isArray(frames) || frames.length !== parts.length) {
    // A leader that does not know producers (an older version during an upgrade)
    // answered the batch as a plain one: each frame's fate is not told apart.
    const err = new ApiError('internal', 'the leader did not answer the frames one by one');
    for (const part of parts) part.done(err);
    return;
  }
  parts.forEach((part, i) => {
    const f = frames[i];
    if ('error' in f) part.done(new ApiError(f.error.code as ApiErrorCode, f.error.message, f.error.details ?? undefined));
    else part.done(undefined, { status: f.status, body: part.single ? f.messages[0] : { messages: f.messages } });
  });
}
