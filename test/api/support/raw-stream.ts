// A bare WebSocket to /v1/stream for protocol tests: frames in as objects, frames out in
// arrival order, and the close code and reason once closed. Waits end on the frame (or
// close) they wait for, with a generous bound so a failure says what was seen.
import WebSocket from 'ws';
import type { ServerFrame } from '../../../src/api/stream/protocol.js';

export interface Closed {
  code: number;
  reason: string;
}

export class RawStream {
  readonly frames: ServerFrame[] = [];
  private readonly listeners = new Set<() => void>();
  closed: Closed | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      this.poke();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.poke();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a stream; `token` goes in the Authorization header when given. */
  static open(baseUrl: string, token?: string): Promise<RawStream> {
    const url = baseUrl.replace(/^http/, 'ws') + '/v1/stream';
    const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawStream(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
      });
      ws.once('error', reject);
    });
  }

  private poke(): void {
    for (const l of [...this.listeners]) l();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from `from` on) that matches, waiting for it if needed. */
  async next<T extends ServerFrame = ServerFrame>(match: (f: ServerFrame) => boolean, timeoutMs = 10_000): Promise<T> {
    return this.until(() => this.frames.find(match) as T | undefined, timeoutMs, 'frame');
  }

  /** The answer (ok or error) of request `id`. */
  answer(id: string | number, timeoutMs = 10_000): Promise<ServerFrame & { op: 'ok' | 'error' }> {
    return this.next((f) => (f.op === 'ok' || f.op === 'error') && f.id === id, timeoutMs);
  }

  /** Every message delivered to `consumer` so far. */
  delivered(consumer: string | number): Array<{ id: string; body: string; receiptHandle: string; receiveCount: number }> {
    return this.frames.flatMap((f) => (f.op === 'deliver' && f.consumer === consumer ? f.messages : []));
  }

  async waitDelivered(consumer: string | number, count: number, timeoutMs = 10_000): Promise<ReturnType<RawStream['delivered']>> {
    return this.until(() => {
      const got = this.delivered(consumer);
      return got.length >= count ? got : undefined;
    }, timeoutMs, `${count} deliveries`);
  }

  waitClosed(timeoutMs = 10_000): Promise<Closed> {
    return this.until(() => this.closed, timeoutMs, 'close');
  }

  close(): void {
    this.ws.close();
  }

  private until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames).slice(-1500)}; closed: ${JSON.stringify(this.closed)}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }
}
