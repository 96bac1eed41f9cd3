// A TCP proxy for one directed node-to-node link (from -> to). The chaos runner points
// node `from` at this proxy instead of `to`'s real gRPC address, so it can cut, delay or
// drop that link's traffic without root or iptables.
//
// Bytes cannot be dropped from the middle of a TCP stream without corrupting HTTP/2
// framing, so "dropping" a direction black-holes it: the bytes are read and discarded
// and the connection is marked tainted. Healing closes tainted connections, as a real
// TCP connection would time out after a long outage, and the peer reconnects cleanly.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parseHostPort } from '../../src/node/address.js';

export type DirectionState = 'pass' | 'drop';

export interface LinkFaults {
  /** Bytes from `from` towards `to` (requests). */
  forward: DirectionState;
  /** Bytes from `to` back towards `from` (responses on this link's connections). */
  backward: DirectionState;
  /** Extra latency added to every chunk, in both directions, order preserved. */
  delayMs: number;
  /** Probability that any chunk resets the connection (a flaky link). */
  resetProbability: number;
}

export interface LinkStats {
  connections: number;
  open: number;
  bytesForward: number;
  bytesBackward: number;
  droppedForward: number;
  droppedBackward: number;
  resets: number;
}

export const HEALTHY: Readonly<LinkFaults> = Object.freeze({ forward: 'pass', backward: 'pass', delayMs: 0, resetProbability: 0 });

interface Conn { client: Socket; upstream: Socket | undefined; tainted: boolean; queues: Record<'forward' | 'backward', DelayQueue> }

export interface LinkProxyOptions {
  /** The real address this link leads to (may be set later with `retarget`). */
  target?: { host: string; port: number };
  listenHost?: string;
  /** Randomness for resetProbability (the proxy's timing is not deterministic anyway). */
  random?: () => number;
}

export class LinkProxy {
  private faults: LinkFaults = { ...HEALTHY };
  /** No bytes move, none are lost: a peer that is alive but stuck (see stall()). */
  private stalled = false;
  private readonly conns = new Set<Conn>();
  private readonly counters: LinkStats = {
    connections: 0, open: 0, bytesForward: 0, bytesBackward: 0, droppedForward: 0, droppedBackward: 0, resets: 0,
  };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private target: { host: string; port: number } | undefined,
    private readonly random: () => number,
  ) {}

  static async start(opts: LinkProxyOptions): Promise<LinkProxy> {
    const server = createServer({ noDelay: true });
    const host = opts.listenHost ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => { server.off('error', reject); resolve(); });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    const proxy = new LinkProxy(server, address.port, opts.target, opts.random ?? Math.random);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** host:port to hand to the `from` node in place of the real address. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get stats(): LinkStats {
    return { ...this.counters, open: this.conns.size };
  }

  get state(): Readonly<LinkFaults> {
    return { ...this.faults };
  }

  retarget(target: { host: string; port: number }): void {
    this.target = target;
  }

  setFaults(change: Partial<LinkFaults>): void {
    this.faults = { ...this.faults, ...change };
    if (this.faults.forward === 'drop' && this.faults.backward === 'drop') this.closeConnections(() => true);
  }

  /** Both directions black-holed; open connections are closed, new ones hang. */
  cut(): void {
    this.setFaults({ forward: 'drop', backward: 'drop' });
  }

  heal(): void {
    this.faults = { ...HEALTHY };
    this.closeConnections((c) => c.tainted);
    this.stalled = false;
    for (const c of this.conns) {
      c.client.resume();
      c.upstream?.resume();
    }
  }

  /** Stops reading both ways; connections stay open and the senders' TCP windows fill
   *  up, as with a process that is alive but stuck. heal() lets the bytes through. */
  stall(): void {
    this.stalled = true;
    for (const c of this.conns) {
      c.client.pause();
      c.upstream?.pause();
    }
  }

  async close(): Promise<void> {
    this.closeConnections(() => true);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.counters.connections++;
    client.setNoDelay(true);
    const conn: Conn = {
      client, upstream: undefined, tainted: false,
      queues: { forward: new DelayQueue(), backward: new DelayQueue() },
    };
    this.conns.add(conn);
    const teardown = (): void => {
      if (!this.conns.delete(conn)) return;
      conn.queues.forward.clear();
      conn.queues.backward.clear();
      client.destroy();
      conn.upstream?.destroy();
    };
    client.on('error', teardown);
    client.on('close', teardown);
    // A fully cut link accepts but never reaches the target: a silent partition.
    if (this.faults.forward === 'drop' && this.faults.backward === 'drop') {
      conn.tainted = true;
      client.on('data', (chunk: Buffer) => { this.counters.droppedForward += chunk.length; });
      return;
    }
    if (this.target === undefined) { teardown(); return; }
    const upstream = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    conn.upstream = upstream;
    upstream.on('error', teardown);
    upstream.on('close', teardown);
    client.on('data', (chunk: Buffer) => this.relay(conn, 'forward', chunk, upstream, teardown));
    upstream.on('data', (chunk: Buffer) => this.relay(conn, 'backward', chunk, client, teardown));
    if (this.stalled) {
      client.pause();
      upstream.pause();
    }
  }

  private relay(conn: Conn, direction: 'forward' | 'backward', chunk: Buffer, to: Socket, teardown: () => void): void {
    const f = this.faults;
    if (f.resetProbability > 0 && this.random() < f.resetProbability) {
      this.counters.resets++;
      teardown();
      return;
    }
    if (f[direction] === 'drop') {
      conn.tainted = true;
      if (direction === 'forward') this.counters.droppedForward += chunk.length;
      else this.counters.droppedBackward += chunk.length;
      return;
    }
    if (direction === 'forward') this.counters.bytesForward += chunk.length;
    else this.counters.bytesBackward += chunk.length;
    conn.queues[direction].push(chunk, f.delayMs, (c) => { if (!to.destroyed) to.write(c); });
  }

  private closeConnections(which: (c: Conn) => boolean): void {
    for (const c of [...this.conns]) {
      if (!which(c)) continue;
      this.conns.delete(c);
      c.queues.forward.clear();
      c.queues.backward.clear();
      c.client.destroy();
      c.upstream?.destroy();
    }
  }
}

/** Delivers chunks after a delay, strictly in arrival order. */
class DelayQueue {
  private readonly items: { due: number; chunk: Buffer; deliver: (c: Buffer) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  push(chunk: Buffer, delayMs: number, deliver: (c: Buffer) => void): void {
    if (delayMs <= 0 && this.items.length === 0) { deliver(chunk); return; }
    const last = this.items.at(-1)?.due ?? 0;
    this.items.push({ due: Math.max(Date.now() + delayMs, last), chunk, deliver });
    this.arm();
  }

  clear(): void {
    this.items.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer !== undefined || this.items.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      while (this.items.length > 0 && this.items[0].due <= now) {
        const item = this.items.shift()!;
        item.deliver(item.chunk);
      }
      this.arm();
    }, Math.max(0, this.items[0].due - Date.now()));
  }
}

/**
 * The proxies of every directed link of a cluster. They are started before the nodes
 * (whose configs must name them) and bound to links as the launcher asks for each
 * node's view of each peer, through `peerAddress`.
 */
export class LinkMesh {
  private readonly links = new Map<string, LinkProxy>();

  private constructor(private readonly pool: LinkProxy[]) {}

  /** Starts proxies for a cluster of `nodeCount` nodes (one per directed link). */
  static async prepare(nodeCount: number): Promise<LinkMesh> {
    const pool: LinkProxy[] = [];
    try {
      for (let i = 0; i < nodeCount * (nodeCount - 1); i++) pool.push(await LinkProxy.start({}));
    } catch (err) {
      await Promise.all(pool.map((l) => l.close()));
      throw err;
    }
    return new LinkMesh(pool);
  }

  /** The launcher's hook: node `from` will dial the returned address to reach `to`. */
  readonly peerAddress = (from: string, to: string, realAddress: string): string => {
    const key = linkKey(from, to);
    let link = this.links.get(key);
    if (link === undefined) {
      link = this.pool.shift();
      if (link === undefined) throw new Error(`no proxy left for link ${from} -> ${to}`);
      this.links.set(key, link);
    }
    link.retarget(parseHostPort(realAddress));
    return link.address;
  };

  get nodeIds(): string[] {
    return [...new Set([...this.links.keys()].flatMap((k) => k.split('\u0000')))].sort();
  }

  link(from: string, to: string): LinkProxy {
    const l = this.links.get(linkKey(from, to));
    if (l === undefined) throw new Error(`no link ${from} -> ${to}`);
    return l;
  }

  /** Every byte from `from` to `to` is lost (requests on from->to, replies on to->from). */
  dropOneWay(from: string, to: string): void {
    this.link(from, to).setFaults({ forward: 'drop' });
    this.link(to, from).setFaults({ backward: 'drop' });
  }

  /** Everything into `node` is lost (`in`), or everything out of it (`out`). */
  dropAll(node: string, direction: 'in' | 'out'): void {
    for (const other of this.nodeIds) {
      if (other === node) continue;
      if (direction === 'in') this.dropOneWay(other, node); else this.dropOneWay(node, other);
    }
  }

  /** Cut every link between `node` and the others, both ways. */
  isolate(node: string): void {
    for (const [key, l] of this.links) {
      const [from, to] = key.split('\u0000');
      if (from === node || to === node) l.cut();
    }
  }

  /** Delay every link touching `node`. */
  slow(node: string, delayMs: number): void {
    for (const [key, l] of this.links) {
      const [from, to] = key.split('\u0000');
      if (from === node || to === node) l.setFaults({ delayMs });
    }
  }

  /** Heal every link touching `node`. */
  heal(node: string): void {
    for (const [key, l] of this.links) {
      const [from, to] = key.split('\u0000');
      if (from === node || to === node) l.heal();
    }
  }

  healAll(): void {
    for (const l of this.links.values()) l.heal();
  }

  /** The links with a fault in effect now ("n1->n2": its faults). */
  faultsNow(): Record<string, LinkFaults> {
    const out: Record<string, LinkFaults> = {};
    for (const [key, l] of this.links) {
      const f = l.state;
      if (f.forward !== 'pass' || f.backward !== 'pass' || f.delayMs > 0 || f.resetProbability > 0) out[key.replace('\u0000', '->')] = f;
    }
    return out;
  }

  stats(): Record<string, LinkStats> {
    const out: Record<string, LinkStats> = {};
    for (const [key, l] of this.links) out[key.replace('\u0000', '->')] = l.stats;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values(), ...this.pool].map((l) => l.close()));
  }
}

const linkKey = (from: string, to: string): string => `${from}\u0000${to}`;
