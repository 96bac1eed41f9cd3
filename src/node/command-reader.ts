import type { Entry } from '../raft/types.js';
import { CompactedError, UnavailableError } from '../raft/storage/log-store.js';
import { decodeEnvelope } from './envelope.js';
import type { EntryReader } from './state-machine.js';

/**
 * What StateMachine.answer reads committed entries' commands with: the batch being
 * applied first, then the entries of the write in flight (`writing`: a leader applies
 * what its followers committed before its own disk has it), then the log store.
 * Undefined when the log no longer holds the index (compacted) or it is no command.
 */
export function commandReader(store: { entries(lo: number, hi: number): Entry[] }, batch: readonly Entry[], writing: readonly Entry[] = []): EntryReader {
  return (index) => {
    const e = within(batch, index) ?? within(writing, index) ?? stored(store, index);
    if (e === undefined || e.type !== 'normal' || e.data.length === 0) return undefined;
    return decodeEnvelope(e.data).command;
  };
}

/** The entry at `index` of a contiguous run, if the run holds it. */
function within(run: readonly Entry[], index: number): Entry | undefined {
  if (run.length === 0) return undefined;
  const at = index - run[0].index;
  return at >= 0 && at < run.length ? run[at] : undefined;
}

function stored(store: { entries(lo: number, hi: number): Entry[] }, index: number): Entry | undefined {
  try {
    return store.entries(index, index + 1)[0];
  } catch (err) {
    if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
    throw err;
  }
}
