// The per-node disk-space alarm (docs/DESIGN.md, Disk-space alarm): the free space of the
// data dir's filesystem, checked every few seconds (never per request), against
// --min-free-disk-bytes. Each node watches its own disk; the API asks before a send or
// publish, so only the leader's alarm refuses writes, and a follower's is a warning.
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import { InsufficientStorageError } from './errors.js';

/** Free space as a statfs call reports it; injectable so tests can simulate a full disk. */
export type FreeSpaceProbe = (dir: string) => Promise<{ bavail: number; bsize: number }>;

export const DISK_CHECK_INTERVAL_MS = 5000;

export interface DiskSpaceOptions {
  dir: string;
  /** 0 disables the alarm. */
  minFreeBytes: number;
  logger: Logger;
  intervalMs?: number;
  probe?: FreeSpaceProbe;
}

export class DiskSpaceAlarm {
  private freeBytes: number | undefined;
  private low = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly probe: FreeSpaceProbe;

  constructor(private readonly opts: DiskSpaceOptions) {
    this.probe = opts.probe ?? ((dir) => statfs(dir));
  }

  /** Checks once now, then every intervalMs until stop(). */
  async start(): Promise<void> {
    if (this.opts.minFreeBytes === 0) return;
    await this.check();
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs ?? DISK_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the free space and updates the alarm; a failed probe keeps the last state. */
  async check(): Promise<void> {
    if (this.opts.minFreeBytes === 0) return;
    let free: number;
    try {
      const st = await this.probe(this.opts.dir);
      free = st.bavail * st.bsize;
    } catch (err) {
      this.opts.logger.warn({ event: 'disk_check_failed', err: (err as Error).message, dir: this.opts.dir }, 'cannot read free disk space');
      return;
    }
    this.freeBytes = free;
    const low = free < this.opts.minFreeBytes;
    if (low === this.low) return;
    this.low = low;
    const fields = { event: low ? 'disk_low' : 'disk_ok', freeBytes: free, minFreeBytes: this.opts.minFreeBytes, dir: this.opts.dir };
    if (low) this.opts.logger.warn(fields, 'disk space below the threshold: as leader this node refuses new messages (507)');
    else this.opts.logger.info(fields, 'disk space back above the threshold: new messages accepted again');
  }

  /** The refusal new messages get while the disk is low, else undefined. */
  refusal(): InsufficientStorageError | undefined {
    return this.low ? new InsufficientStorageError(this.freeBytes ?? 0, this.opts.minFreeBytes) : undefined;
  }
}
