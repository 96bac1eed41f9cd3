// Which node to talk to: the leader once one is known (from a 307's Location or
// GET /v1/cluster), otherwise one of the configured base URLs. A node that refused or
// dropped a connection is avoided for a moment, as long as another one is left.

const AVOID_MS = 1000;

export class Endpoints {
  /** Origins of the configured base URLs (scheme, host and port; paths are not used). */
  readonly origins: readonly string[];
  /** Leaders learned from a 307/308 so far (the bench reports them). */
  redirects = 0;
  private leader: string | undefined;
  private next = 0;
  private readonly avoidUntil = new Map<string, number>();

  constructor(urls: readonly string[], private readonly random: () => number = Math.random) {
    if (urls.length === 0) throw new TypeError('at least one broker URL is needed');
    this.origins = urls.map((u) => new URL(u).origin);
    this.next = Math.floor(this.random() * this.origins.length);
  }

  /** The leader when known, else the next usable configured node (round robin). */
  pick(): string {
    return this.leader ?? this.any();
  }

  /** A configured node that is not being avoided, in turn. */
  any(): string {
    const now = Date.now();
    for (let i = 0; i < this.origins.length; i++) {
      const o = this.origins[(this.next + i) % this.origins.length];
      if ((this.avoidUntil.get(o) ?? 0) <= now) {
        this.next = (this.next + i + 1) % this.origins.length;
        return o;
      }
    }
    const o = this.origins[this.next];
    this.next = (this.next + 1) % this.origins.length;
    return o;
  }

  get leaderOrigin(): string | undefined {
    return this.leader;
  }

  setLeader(origin: string): void {
    this.leader = origin;
    this.avoidUntil.delete(origin);
  }

  /** A 307/308 named the leader. */
  redirected(origin: string): void {
    this.redirects++;
    this.setLeader(origin);
  }

  forgetLeader(): void {
    this.leader = undefined;
  }

  /** The node failed: forget it as leader and prefer the others for a moment. */
  failed(origin: string): void {
    if (this.leader === origin) this.leader = undefined;
    this.avoidUntil.set(origin, Date.now() + AVOID_MS);
  }
}
