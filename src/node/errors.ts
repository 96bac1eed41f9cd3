// Typed failures of the node layer. The API maps them to HTTP statuses in one place;
// main maps the fatal ones to process exit codes.

/** Process exit codes (sysexits.h style) so operators and scripts can tell causes apart. */
export const ExitCode = {
  config: 78, // EX_CONFIG: a bad value in flags, env or the config file
  corruptStore: 65, // EX_DATAERR: the data dir holds a torn, foreign or corrupt log
  storageFailed: 74, // EX_IOERR: a write or fsync failed
  unavailable: 69, // EX_UNAVAILABLE: a port or a lock is taken
} as const;

/** Every node error is named after its class (logs and exit codes tell them apart). */
export class NodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotLeaderError extends NodeError {
  constructor(
    readonly leaderId: string,
    readonly leaderHttpUrl: string | null,
  ) {
    super(`not the leader; the leader is ${leaderId}${leaderHttpUrl ? ` at ${leaderHttpUrl}` : ''}`);
  }
}

export class NoLeaderError extends NodeError {
  constructor(message = 'no leader is known right now; retry shortly') {
    super(message);
  }
}

export class OverloadedError extends NodeError {
  constructor(readonly pending: number) {
    super(`too many pending proposals (${pending}); retry later`);
  }
}

/** Leadership was lost before the entry committed: it may or may not commit later. */
export class ProposalOutcomeUnknownError extends NodeError {
  constructor(message = 'leadership changed before the proposal committed; its outcome is unknown') {
    super(message);
  }
}

export class NodeStoppedError extends NodeError {
  constructor(message = 'the node is stopped') {
    super(message);
  }
}

/** The disk refused a write or an fsync: the node stops accepting writes. */
export class StorageFailedError extends NodeError {
  readonly exitCode = ExitCode.storageFailed;
}

/** The data dir cannot be used as it is: torn, corrupt, foreign or locked. */
export class StoreCorruptError extends NodeError {
  readonly exitCode = ExitCode.corruptStore;
  constructor(
    readonly location: string,
    readonly detail: string,
  ) {
    super(`raft log at ${location} is unusable: ${detail}`);
  }
}

export class StoreLockedError extends NodeError {
  readonly exitCode = ExitCode.unavailable;
  constructor(readonly location: string) {
    super(`raft log at ${location} is locked by another process (is this node already running?)`);
  }
}

/** Every bad configuration value, each with the source it came from. */
export class ConfigError extends NodeError {
  readonly exitCode = ExitCode.config;
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A listen address is taken or cannot be bound. */
export class ListenError extends NodeError {
  readonly exitCode = ExitCode.unavailable;
}

/** The Forward RPC to the leader failed or timed out. */
export class ForwardError extends NodeError {}

/** The exit code main should use for a fatal error (1 when it is not one of ours). */
export function exitCodeFor(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') return err.exitCode;
  return 1;
}
