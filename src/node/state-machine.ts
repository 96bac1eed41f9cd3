/** Where in the replicated log a command is being applied, and its replicated time. */
export interface ApplyContext {
  index: number;
  term: number;
  /** Milliseconds since the epoch, stamped by the leader when it proposed the entry.
   *  The state machine makes it monotonic itself. */
  time: number;
}

/**
 * The deterministic application the log drives. The broker implements it; tests
 * use a small key-value fixture. `apply` must depend only on its arguments and the
 * state built by earlier applies: no clock, no randomness, no I/O.
 */
export interface StateMachine {
  /** Applies one committed command and returns its result, which the node that
   *  proposed it hands back to the waiting caller. */
  apply(command: Uint8Array, ctx: ApplyContext): unknown;
  /** A self-contained image of the state at the last applied index. */
  snapshot(): Uint8Array;
  /**
   * Optional: the same image produced incrementally, so that a large state does not
   * stall the node. The call captures the state at the last applied index and must be
   * cheap; the chunks (about `chunkBytes` each) are then pulled one at a time while
   * later entries are applied, and concatenated they equal what snapshot() returned at
   * the call. When absent, the node calls snapshot().
   */
  snapshotChunks?(chunkBytes: number): Iterable<Uint8Array>;
  /** Replaces the whole state with a snapshot image. */
  restore(image: Uint8Array): void;
  /** Equal on every replica that applied the same log. */
  stateHash(): string;
  /**
   * Optional: the replicated time (ms since the epoch) at which something in the state
   * falls due (a delayed message, a lease), if anything is waiting on the clock. The
   * clock only moves with entries, so when nothing else is proposed the leader
   * proposes the idle tick command at that time.
   */
  nextDueAt?(): number | undefined;
  /**
   * Optional: the smallest log index whose entry the state still reads (the broker keeps
   * message bodies in the log, not in memory: a live message's send). After a snapshot
   * the log keeps every entry from there on; undefined when the state reads none.
   * Asked when a snapshot is captured, so it describes the captured state.
   */
  retainFrom?(): number | undefined;
  /**
   * Optional: turns apply's result into the answer the proposer's caller receives, on
   * the node that answers only (followers never pay for it). A state machine that keeps
   * payloads in the log fills them in here from their entries, read by index.
   */
  answer?(result: unknown, read: EntryReader): unknown;
}

/** The data (command bytes) of the committed entry at a log index, or undefined when
 *  the log no longer holds it. Synchronous: recent entries come from a cache, older ones
 *  from the page cache or disk. */
export type EntryReader = (index: number) => Uint8Array | undefined;
