// A small key-value state machine: the workload of `make bench-node` and of the
// node-layer tests. Deterministic like the real one.
import { crc32 } from 'node:zlib';
import type { ApplyContext, StateMachine } from '../../src/node/state-machine.js';

const OP_PUT = 1;
const OP_TICK = 2;

export interface KvApplyResult {
  index: number;
  term: number;
  /** How many puts were applied before this one (its position in the put order). */
  position: number;
}

export function encodePut(key: string, value: Uint8Array): Uint8Array {
  const k = Buffer.from(key, 'utf8');
  const out = new Uint8Array(3 + k.length + value.length);
  out[0] = OP_PUT;
  new DataView(out.buffer).setUint16(1, k.length);
  out.set(k, 3);
  out.set(value, 3 + k.length);
  return out;
}

export function encodeTick(): Uint8Array {
  return Uint8Array.of(OP_TICK);
}

/**
 * Puts into a map and a running checksum over the order of puts (key and log
 * index), so two replicas with the same hash applied the same puts in the same order.
 */
export class KvStateMachine implements StateMachine {
  private data = new Map<string, Uint8Array>();
  private puts = 0;
  private orderHash = 0;
  private lastTime = 0;
  ticks = 0;
  /** Keys in put order, kept only when asked (tests check the order; benches need not). */
  private order: string[] | undefined;

  constructor(opts: { trackOrder?: boolean } = {}) {
    if (opts.trackOrder) this.order = [];
  }

  apply(command: Uint8Array, ctx: ApplyContext): KvApplyResult | { tick: number } {
    this.lastTime = Math.max(this.lastTime, ctx.time);
    if (command[0] === OP_TICK) {
      this.ticks++;
      return { tick: this.ticks };
    }
    if (command[0] !== OP_PUT || command.length < 3) throw new Error(`unknown kv command ${command[0]}`);
    const keyLen = new DataView(command.buffer, command.byteOffset, command.byteLength).getUint16(1);
    const keyBytes = command.subarray(3, 3 + keyLen);
    const key = Buffer.from(keyBytes).toString('utf8');
    this.data.set(key, command.slice(3 + keyLen));
    const position = this.puts++;
    this.order?.push(key);
    this.orderHash = crc32(keyBytes, crc32(String(ctx.index), this.orderHash));
    return { index: ctx.index, term: ctx.term, position };
  }

  get(key: string): Uint8Array | undefined {
    return this.data.get(key);
  }

  keys(): string[] {
    return [...this.data.keys()];
  }

  putOrder(): string[] | undefined {
    return this.order;
  }

  summary(): { puts: number; keys: number; hash: string; ticks: number; lastTime: number } {
    return { puts: this.puts, keys: this.data.size, hash: this.stateHash(), ticks: this.ticks, lastTime: this.lastTime };
  }

  snapshot(): Uint8Array {
    const entries = [...this.data].map(([k, v]) => [k, Buffer.from(v).toString('base64')]);
    return Buffer.from(
      JSON.stringify({ entries, puts: this.puts, orderHash: this.orderHash, ticks: this.ticks, lastTime: this.lastTime, order: this.order }),
    );
  }

  restore(image: Uint8Array): void {
    const s = JSON.parse(Buffer.from(image).toString('utf8')) as {
      entries: [string, string][];
      puts: number;
      orderHash: number;
      ticks: number;
      lastTime: number;
      order?: string[];
    };
    this.data = new Map(s.entries.map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
    this.puts = s.puts;
    this.orderHash = s.orderHash;
    this.ticks = s.ticks;
    this.lastTime = s.lastTime;
    if (this.order) this.order = s.order ?? [];
  }

  stateHash(): string {
    return `${this.puts}:${this.orderHash.toString(16)}`;
  }
}
