import type { Entry } from '../raft/types.js';
import { CompactedError, UnavailableError } from '../raft/storage/log-store.js';
import { decodeEnvelope } from './envelope.js';
import type { EntryReader } from './state-machine.js';

/**
 * What StateMachine.answer reads committed entries' commands with: the batch being
 * applied first (its entries may still be on their way to disk), then the log store.
 * Undefined when the log no longer holds the index (compacted) or it is no command.
 */
export function commandReader(store: { entries(lo: number, hi: number): Entry[] }, batch: readonly Entry[]): EntryReader {
  const first = batch.length > 0 ? batch[0].index : 0;
  return (index) => {
    const e = index >= first && index < first + batch.length ? batch[index - first] : stored(store, index);
    if (e === undefined || e.type !== 'normal' || e.data.length === 0) return undefined;
    return decodeEnvelope(e.data).command;
  };
}

function stored(store: { entries(lo: number, hi: number): Entry[] }, index: number): Entry | undefined {
  try {
    return store.entries(index, index + 1)[0];
  } catch (err) {
    if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
    throw err;
  }
}
