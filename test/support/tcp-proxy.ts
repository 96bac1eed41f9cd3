import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on one node-to-node link, so a test can cut and heal it. While cut,
 * open connections are destroyed and new ones are closed at once.
 */
export class TcpProxy {
  target = '';
  private cutOff = false;
  private stalled = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    proxy = new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0);
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.cutOff = false;
    this.stalled = false;
    for (const s of this.sockets) s.resume();
  }

  /** Stops moving bytes (connections stay open): a peer that is alive but stuck. */
  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.pause();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.cutOff || !this.target) {
      client.destroy();
      return;
    }
    const i = this.target.lastIndexOf(':');
    const upstream = connect(Number(this.target.slice(i + 1)), this.target.slice(0, i));
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    if (this.stalled) {
      client.pause();
      upstream.pause();
    }
  }
}
