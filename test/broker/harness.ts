import { Broker, encodeCommand, resolveLimits, type BrokerLimits, type Command, type CommandResult } from '../../src/broker/index.js';
import { MemoryLog } from './memory-log.js';

/** A receipt key as the API would propose it (any 64 hex digits). */
export const TEST_RECEIPT_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';

/** Drives a Broker like the node does: one entry per command, increasing index, and a
 *  leader clock the test moves by hand. Commands go through encode/decode as in the log,
 *  which keeps them, and answers read their bodies from it (Broker.answer). */
export class Harness {
  readonly broker = new Broker();
  index = 0;
  time = Date.UTC(2026, 0, 1);

  constructor(readonly log = new MemoryLog()) {}

  /** A replica restored from this one's snapshot, with a copy of its log, at the same
   *  index and time. */
  restored(): Harness {
    const copy = new Harness(this.log.copy());
    copy.broker.restore(this.broker.snapshot());
    copy.index = this.index;
    copy.time = this.time;
    return copy;
  }

  apply(command: Command): CommandResult {
    return this.applyBytes(encodeCommand(command));
  }

  applyBytes(bytes: Uint8Array): CommandResult {
    this.index++;
    this.log.add(this.index, bytes);
    const result = this.broker.apply(bytes, { index: this.index, term: 1, time: this.time });
    return this.broker.answer(result, this.log.read) as CommandResult;
  }

  /** Applies and expects success; returns the value. */
  ok<T = any>(command: Command): T {
    const r = this.apply(command);
    if (!r.ok) throw new Error(`${command.type} failed: ${JSON.stringify(r.error)}`);
    return r.value as T;
  }

  /** Applies and expects failure with `code`. */
  fails(command: Command, code: string): void {
    const r = this.apply(command);
    if (r.ok) throw new Error(`${command.type} succeeded, expected ${code}: ${JSON.stringify(r.value)}`);
    if (r.error.code !== code) throw new Error(`${command.type} failed with ${r.error.code}, expected ${code}: ${r.error.message}`);
  }

  advance(ms: number): void {
    this.time += ms;
  }

  tick(): void {
    this.ok({ type: 'tick' });
  }

  /** Applies a `cluster.limits` entry: the defaults overridden by `overrides`. */
  limits(overrides: Partial<BrokerLimits>): void {
    this.ok({ type: 'cluster.limits', limits: resolveLimits(overrides) });
  }

  register(...names: string[]): void {
    for (const username of names) this.ok({ type: 'user.register', username, passwordHash: `hash-of-${username}` });
  }
}
