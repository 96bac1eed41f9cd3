import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Role } from '../raft/types.js';

const ROLES: Role[] = ['follower', 'preCandidate', 'candidate', 'leader'];

export type ProposalOutcome = 'committed' | 'refused' | 'unknown' | 'overloaded';

/**
 * mom_raft_proposals_total by outcome, counted in plain numbers and handed to
 * prom-client when scraped: prom-client's inc() builds and hashes the label set on
 * every call (83 ns in a tight loop, ~0.5 us a call in the leader profile of scenario 4),
 * and the leader counts every proposal it applies.
 */
export class ProposalOutcomes {
  private readonly totals: Record<ProposalOutcome, number> = { committed: 0, refused: 0, unknown: 0, overloaded: 0 };

  constructor(registers: Registry[]) {
    const totals = this.totals;
    new Counter({
      name: 'mom_raft_proposals_total',
      help: 'Proposals by outcome',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        for (const outcome of Object.keys(totals) as ProposalOutcome[]) if (totals[outcome] > 0) this.inc({ outcome }, totals[outcome]);
      },
    });
  }

  inc(labels: { outcome: ProposalOutcome }, n = 1): void {
    this.totals[labels.outcome] += n;
  }
}

/** What the Ready loop knows that the metrics read when scraped. */
export interface LoopProgress {
  commitIndex: number;
  applied: number;
  /** Leader only: each follower's last index minus its match index; none otherwise. */
  followerLags(): ReadonlyArray<readonly [peer: string, lag: number]>;
}

/** The Raft metrics of one node, registered on the registry it is given. */
export class RaftMetrics {
  readonly term: Gauge;
  readonly role: Gauge<'role'>;
  readonly commitIndex: Gauge;
  readonly appliedIndex: Gauge;
  readonly leaderChanges: Counter;
  readonly proposals: ProposalOutcomes;
  readonly pendingProposals: Gauge;
  readonly commitLatency: Histogram;
  readonly fsyncLatency: Histogram;
  readonly readyBatchEntries: Histogram;
  readonly followerLag: Gauge<'peer'>;
  readonly snapshots: Counter<'kind'>;
  readonly snapshotBytes: Gauge;
  readonly logFirstIndex: Gauge;

  /** Read at scrape time: setting the gauges on every Ready cost the leader a Raft
   *  status copy and prom-client label hashing per Ready (0.6 % of its time under a
   *  receive+ack drain). */
  private progress: LoopProgress | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    const scraped = (): LoopProgress | undefined => this.progress;
    this.term = new Gauge({ name: 'mom_raft_term', help: 'Current Raft term', registers });
    this.role = new Gauge({ name: 'mom_raft_role', help: '1 for the role this node has now', labelNames: ['role'], registers });
    /** A gauge set from the loop's progress when scraped. */
    const progressGauge = (name: string, help: string, pick: (p: LoopProgress) => number): Gauge =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const p = scraped();
          if (p) this.set(pick(p));
        },
      });
    this.commitIndex = progressGauge('mom_raft_commit_index', 'Highest log index known committed', (p) => p.commitIndex);
    this.appliedIndex = progressGauge('mom_raft_applied_index', 'Highest log index applied to the state machine', (p) => p.applied);
    this.leaderChanges = new Counter({ name: 'mom_raft_leader_changes_total', help: 'Times this node saw the leader change', registers });
    this.proposals = new ProposalOutcomes(registers);
    this.pendingProposals = new Gauge({ name: 'mom_raft_pending_proposals', help: 'Proposals waiting to commit', registers });
    this.commitLatency = new Histogram({
      name: 'mom_raft_proposal_commit_seconds',
      help: 'From propose() to apply on this node',
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.fsyncLatency = new Histogram({
      name: 'mom_raft_fsync_seconds',
      help: 'Duration of one synced log write',
      buckets: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.readyBatchEntries = new Histogram({
      name: 'mom_raft_persist_batch_entries',
      help: 'Entries written per synced batch (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.followerLag = new Gauge({
      name: 'mom_raft_follower_lag_entries',
      help: 'Leader only: last index minus the follower match index',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const [peer, lag] of scraped()?.followerLags() ?? []) this.set({ peer }, lag);
      },
    });
    this.snapshots = new Counter({ name: 'mom_raft_snapshots_total', help: 'Snapshots taken or installed', labelNames: ['kind'], registers });
    this.snapshotBytes = new Gauge({ name: 'mom_raft_snapshot_bytes', help: 'Size of the state machine image of the snapshot this node holds', registers });
    this.logFirstIndex = new Gauge({
      name: 'mom_raft_log_first_index',
      help: 'First entry the log holds (entries below a snapshot are kept while they hold live message bodies)',
      registers,
    });
  }

  /** The Ready loop whose progress the gauges report. */
  readFrom(progress: LoopProgress): void {
    this.progress = progress;
  }

  setRole(role: Role): void {
    for (const r of ROLES) this.role.set({ role: r }, r === role ? 1 : 0);
  }
}
