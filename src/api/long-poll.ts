// Long polling without polling: receivers that found nothing wait here for the broker's
// "messages ready" event for their queue or subscription. Waiters queue in FIFO order
// per target; an event wakes only as many of them as the ready messages can serve, so a
// thousand idle receivers on one queue cost nothing until something arrives, and a
// single message does not stampede them all into proposing receives.

export type WaitOutcome = 'ready' | 'timeout' | 'aborted' | 'closed';

interface Waiter {
  target: string;
  /** How many messages this waiter takes at most. */
  max: number;
  settle(outcome: WaitOutcome): void;
}

export interface WaitRequest {
  target: string;
  max: number;
  /** The version() read before the receive that came back empty: an event since then
   *  means there may be something now, so the wait ends at once. */
  sinceVersion: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** A waiter that was woken but lost the race rejoins at the head of the line. */
  front?: boolean;
}

/** Targets whose last event is remembered; see ReadyWaiters.versions. */
export const MAX_TRACKED_TARGETS = 10_000;

export class ReadyWaiters {
  private readonly lines = new Map<string, Waiter[]>();
  /**
   * The sequence number of each target's last event, least recently notified first. A
   * version only has to change when an event happens, so the table is bounded: beyond
   * `maxTracked` targets the oldest entry without waiters is forgotten and `floor` rises
   * to its number, which every untracked target then reports. A receiver that read an
   * older version still sees a change (no lost wake-up); the price of an eviction is at
   * most one extra receive for a receiver between its read and its wait. Without the
   * bound, every queue ever notified (deleted ones too) stayed in the map.
   */
  private readonly versions = new Map<string, number>();
  private sequence = 0;
  private floor = 0;
  private closed = false;

  /**
   * @param readyCount how many messages are ready at a target right now, when known;
   *   used to wake just enough waiters. Without it one waiter is woken per event and
   *   each waiter that fills its batch passes the turn on.
   */
  constructor(
    private readonly readyCount?: (target: string) => number | undefined,
    private readonly maxTracked = MAX_TRACKED_TARGETS,
  ) {}

  version(target: string): number {
    return this.versions.get(target) ?? this.floor;
  }

  /** Targets whose version is held (bounded by maxTracked, plus those with waiters). */
  get trackedCount(): number {
    return this.versions.size;
  }

  private remember(target: string): void {
    this.versions.delete(target);
    this.versions.set(target, ++this.sequence);
    if (this.versions.size <= this.maxTracked) return;
    for (const [old, seq] of this.versions) {
      if (this.versions.size <= this.maxTracked) break;
      if (this.lines.has(old)) continue; // its waiters compare against it
      this.versions.delete(old);
      this.floor = Math.max(this.floor, seq);
    }
  }

  /** The broker's onMessagesReady listener. */
  readonly notify = (target: string): void => {
    this.remember(target);
    const line = this.lines.get(target);
    if (!line || line.length === 0) return;
    if (!this.readyCount) {
      this.wake(target, 1);
      return;
    }
    // undefined: the queue or subscription is gone; every waiter learns it at once.
    const ready = this.readyCount(target);
    this.wake(target, ready === undefined ? Number.POSITIVE_INFINITY : Math.max(1, ready));
  };

  /** Called by a receiver that got a full batch: there may be more, so the next one in
   *  line gets its turn. */
  passOn(target: string): void {
    this.wake(target, 1);
  }

  private wake(target: string, messages: number): void {
    const line = this.lines.get(target);
    let budget = messages;
    while (line && line.length > 0 && budget > 0) {
      // settle() takes the waiter out of the line (it is at the head: found at once).
      const waiter = line[0];
      budget -= waiter.max;
      waiter.settle('ready');
    }
  }

  waitingCount(target?: string): number {
    if (target !== undefined) return this.lines.get(target)?.length ?? 0;
    let n = 0;
    for (const line of this.lines.values()) n += line.length;
    return n;
  }

  wait(req: WaitRequest): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (req.signal?.aborted) return Promise.resolve('aborted');
    if (this.version(req.target) !== req.sinceVersion) return Promise.resolve('ready');
    if (req.timeoutMs <= 0) return Promise.resolve('timeout');
    return new Promise<WaitOutcome>((resolve) => {
      let line = this.lines.get(req.target);
      if (!line) {
        line = [];
        this.lines.set(req.target, line);
      }
      const onAbort = (): void => waiter.settle('aborted');
      const timer = setTimeout(() => waiter.settle('timeout'), req.timeoutMs);
      const waiter: Waiter = {
        target: req.target,
        max: req.max,
        settle: (outcome) => {
          clearTimeout(timer);
          req.signal?.removeEventListener('abort', onAbort);
          this.remove(waiter);
          resolve(outcome);
        },
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (req.front) line.unshift(waiter);
      else line.push(waiter);
    });
  }

  private remove(waiter: Waiter): void {
    const line = this.lines.get(waiter.target);
    if (!line) return;
    const at = line.indexOf(waiter);
    if (at >= 0) line.splice(at, 1);
    if (line.length === 0) this.lines.delete(waiter.target);
  }

  /** Ends every wait (server shutdown); later waits end at once. */
  close(): void {
    this.closed = true;
    for (const line of [...this.lines.values()]) {
      for (const waiter of [...line]) waiter.settle('closed');
    }
  }
}
