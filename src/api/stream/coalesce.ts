// Sends and publishes without an Idempotency-Key that arrive together (frames read from
// one socket read, before the next turn of the event loop) to the same queue or topic are
// committed as one batch command of up to MAX_BATCH messages, and each frame is answered
// with its own part of the batch's answer: what REST would have answered it (a single
// message's {id, deduplicated}, or a batch's {messages}). One log entry per read instead
// of one per frame is what lets a stream confirm tens of thousands of messages a second.
// Frames with a key are committed alone: the key names that request's answer.
import { MAX_BATCH } from '../../broker/commands.js';
import type { SentView } from '../../broker/index.js';
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
    const key = `${part.prepared.spec.operationId}\n${JSON.stringify(part.prepared.params)}`;
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
      for (const part of group) {
        if (size + part.messages.length > MAX_BATCH && chunk.length > 0) {
          this.commit(chunk);
          chunk = [];
          size = 0;
        }
        chunk.push(part);
        size += part.messages.length;
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
    this.routes.serve(merged, caller).then(
      (answer) => {
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
