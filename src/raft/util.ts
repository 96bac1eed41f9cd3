import type { Entry, Message, MessageType, NodeId } from './types.js';

const EMPTY = new Uint8Array(0);

/** Keeps a prefix of `ents` whose data fits in `maxBytes` (always at least one entry). */
export function limitSize(ents: Entry[], maxBytes?: number): Entry[] {
  if (maxBytes === undefined || ents.length <= 1) return ents;
  let size = ents[0].data.length;
  let n = 1;
  while (n < ents.length) {
    size += ents[n].data.length;
    if (size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/** A message with every field a type does not use set to its zero value. */
export function message(type: MessageType, from: NodeId, to: NodeId, term: number, fields: Partial<Message> = {}): Message {
  return {
    type,
    from,
    to,
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    hintTerm: 0,
    context: EMPTY,
    ...fields,
  };
}

/** A map key for an opaque context (ReadIndex rounds are keyed by it). */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]);
  return s;
}

export const EMPTY_BYTES = EMPTY;
