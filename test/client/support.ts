// A scripted HTTP server for the client's tests: each request is recorded and answered
// by the test's handler, which may also drop the connection to simulate a lost answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: Seen, res: ServerResponse) => void;

export interface TestServer {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

export async function testServer(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const s: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${a.port}`,
    seen,
    close: () => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

/** Answers nothing and closes the socket: the client cannot know what happened. */
export function drop(res: ServerResponse): void {
  res.socket?.destroy();
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}
