import { decodeCommand, type Command } from './commands.js';
import { BrokerError } from './errors.js';
import type {
  CommandResult, DepthRow, QueueView, SubscriptionView, TopicView, UserRecord,
} from './results.js';

export type { CommandResult } from './results.js';

/** Where in the log a command is applied and its leader-stamped time; structurally the
 *  same as src/node/state-machine.ts's ApplyContext (the broker imports nothing from node). */
export interface ApplyContext {
  index: number;
  term: number;
  time: number;
}

/** `queue:<name>` or `sub:<topic>/<subscription>`. */
export type ReadyListener = (target: string) => void;

/**
 * The replicated broker state machine: pure and deterministic. Implements the node's
 * StateMachine interface structurally (apply/snapshot/restore/stateHash).
 */
export class Broker {
  private readonly listeners = new Set<ReadyListener>();

  /** Decodes and applies one committed entry. Never throws for a bad command: a
   *  malformed or refused command is a failed CommandResult on every replica alike. */
  apply(command: Uint8Array, ctx: ApplyContext): CommandResult {
    let decoded: Command;
    try {
      decoded = decodeCommand(command);
    } catch (err) {
      if (err instanceof BrokerError) return { ok: false, error: err.toBody() };
      throw err;
    }
    return this.applyCommand(decoded, ctx);
  }

  /** Applies an already-decoded command (tests and benchmarks skip the decoding). */
  applyCommand(_command: Command, _ctx: ApplyContext): CommandResult {
    throw new Error('Broker.applyCommand: not implemented yet');
  }

  snapshot(): Uint8Array {
    throw new Error('Broker.snapshot: not implemented yet');
  }

  restore(_image: Uint8Array): void {
    throw new Error('Broker.restore: not implemented yet');
  }

  stateHash(): string {
    throw new Error('Broker.stateHash: not implemented yet');
  }

  getUser(_username: string): UserRecord | undefined {
    throw new Error('not implemented yet');
  }

  listQueues(_user: string): CommandResult<{ queues: QueueView[] }> {
    throw new Error('not implemented yet');
  }

  getQueue(_user: string, _name: string): CommandResult<QueueView> {
    throw new Error('not implemented yet');
  }

  listTopics(_user: string): CommandResult<{ topics: TopicView[] }> {
    throw new Error('not implemented yet');
  }

  getTopic(_user: string, _name: string): CommandResult<TopicView> {
    throw new Error('not implemented yet');
  }

  listSubscriptions(_user: string, _topic: string): CommandResult<{ subscriptions: SubscriptionView[] }> {
    throw new Error('not implemented yet');
  }

  queueDepths(): DepthRow[] {
    throw new Error('not implemented yet');
  }

  /** Called after an apply (or a tick's expiries) makes messages ready at `target`.
   *  Returns the function that removes the listener. Listeners must not change state. */
  onMessagesReady(listener: ReadyListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
