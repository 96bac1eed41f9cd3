// What the route handlers share: the node, the broker's queries, auth and long polling,
// and the one way a command reaches the log.
import { randomBytes } from 'node:crypto';
import type { Broker, Command, CommandResult, CommandValue } from '../broker/index.js';
import { encodeCommand } from '../broker/index.js';
import { COMMAND_HEADROOM } from '../node/envelope.js';
import type { LoginLimiter, RegisterLimiter } from './auth/rate-limit.js';
import type { TokenService } from './auth/tokens.js';
import { ApiError, fromBrokerError } from './errors.js';
import type { ReadyWaiters } from './long-poll.js';
import type { ApiMetrics } from './metrics.js';
import type { ApiNode, Logger } from './ports.js';
import { ReplayedAnswer } from './replay.js';

export type ApiBroker = Pick<
  Broker,
  | 'getUser'
  | 'listQueues'
  | 'getQueue'
  | 'listTopics'
  | 'getTopic'
  | 'listSubscriptions'
  | 'queueDepths'
  | 'readyCount'
  | 'onMessagesReady'
  | 'hasReceiptKey'
>;

export interface ApiDeps {
  node: ApiNode;
  broker: ApiBroker;
  tokens: TokenService;
  logins: LoginLimiter;
  registrations: RegisterLimiter;
  waiters: ReadyWaiters;
  metrics: ApiMetrics;
  logger: Logger;
}

/** The value of a CommandResult, or its error as an ApiError. */
export function unwrap<T>(result: CommandResult<T>): T {
  if (result.ok) return result.value;
  throw fromBrokerError(result.error);
}

function isCommandResult(value: unknown): value is CommandResult {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

/** The command field for an optional Idempotency-Key (absent when the request had none). */
export function idempotencyField(idempotencyKey: string | undefined): { idempotencyKey?: string } {
  return idempotencyKey !== undefined ? { idempotencyKey } : {};
}

/**
 * The field a receive command carries while the cluster has no receipt key: a fresh
 * random key candidate; the first one applied becomes the cluster's (src/broker README,
 * Receipt handles). The node proposing is the leader, whose applied state precedes the
 * new entry in the log: once it sees a key, every later receive is minted with it.
 */
export function receiptKeyField(broker: Pick<ApiBroker, 'hasReceiptKey'>): { receiptKey?: string } {
  return broker.hasReceiptKey() ? {} : { receiptKey: randomBytes(32).toString('hex') };
}

/** Proposes a command and waits until it is committed and applied on this node. An
 *  Idempotency-Key first used by another kind of command replays that command's answer
 *  (ReplayedAnswer), whatever this route would have answered. */
export async function commit<C extends Command>(deps: ApiDeps, command: C): Promise<CommandValue<C['type']>> {
  // Encoded with room for the node's envelope and the log record's head: the command is
  // not copied into the entry, nor into its record.
  return commitEncoded<C['type']>(deps, command.type, encodeCommand(command, COMMAND_HEADROOM));
}

/** commit for a command already encoded, with COMMAND_HEADROOM bytes ahead of it. */
export async function commitEncoded<T extends Command['type']>(deps: ApiDeps, type: T, encoded: Uint8Array): Promise<CommandValue<T>> {
  const result = await deps.node.propose(encoded, COMMAND_HEADROOM);
  if (!isCommandResult(result)) {
    deps.logger.error({ command: type }, 'state machine returned no CommandResult');
    throw new ApiError('internal', 'internal error');
  }
  if (result.ok && result.replayOf !== undefined && result.replayOf !== type) {
    throw new ReplayedAnswer(result.replayOf, result.value);
  }
  // The broker's apply returned execute()'s value for this very command type.
  return unwrap(result) as CommandValue<T>;
}
