import { Broker, encodeCommand, resolveLimits, type BrokerLimits, type Command, type CommandResult } from '../../src/broker/index.js';

/** A receipt key as the API would propose it (any 64 hex digits). */
export const TEST_RECEIPT_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';

/** Drives a Broker like the node does: one entry per command, increasing index, and a
 *  leader clock the test moves by hand. Commands go through encode/decode as in the log. */
export class Harness {
  readonly broker = new Broker();
  index = 0;
  time = Date.UTC(2026, 0, 1);

  apply(command: Command): CommandResult {
    this.index++;
    return this.broker.apply(encodeCommand(command), { index: this.index, term: 1, time: this.time });
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
