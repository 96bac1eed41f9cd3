// A key-value node process for `make bench-node` and the node-layer process tests: the
// real RaftNode (LevelDB log, gRPC transport) driving the key-value state machine,
// behind a tiny HTTP API that mirrors the real one's health and cluster routes. Run: node --import tsx scripts/kv/node-main.ts <node flags>
import '../../src/runtime-tuning.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { startupConfig } from '../../src/node/startup.js';
import {
  exitCodeFor,
  NoLeaderError,
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalOutcomeUnknownError,
  StorageFailedError,
} from '../../src/node/errors.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { parseHostPort } from '../../src/node/address.js';
import { encodePut, encodeTick, KvStateMachine } from './state-machine.js';

async function main(): Promise<void> {
  const started = await startupConfig(process.argv.slice(2), process.env);
  if (started === undefined) return; // --help
  const { config, logger } = started;
  const kv = new KvStateMachine({ trackOrder: process.env.MOM_KV_TRACK_ORDER === '1' });
  const node = await RaftNode.start({ config, stateMachine: kv, logger, idleTickCommand: encodeTick });
  node.on('fatal', (err: Error) => {
    process.stderr.write(`fatal: ${err.message}\n`);
    process.exit(exitCodeFor(err));
  });

  const server = createServer((req, res) => {
    handle(node, kv, req, res).catch((err: Error) => send(res, 500, { error: 'internal', message: err.message }));
  });
  const { host, port } = parseHostPort(config.httpListen);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeAllConnections();
    await node.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function handle(node: RaftNode, kv: KvStateMachine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
  if (req.method === 'GET' && path === '/ready') return send(res, node.isReady() ? 200 : 503, { ready: node.isReady() });
  if (req.method === 'GET' && path === '/v1/cluster') return send(res, 200, node.status());
  if (req.method === 'GET' && path === '/kv') return send(res, 200, { ...kv.summary(), applied: node.status().appliedIndex });
  if (req.method === 'GET' && path === '/kv-keys') return send(res, 200, { keys: kv.keys(), order: kv.putOrder() ?? null });
  if (req.method === 'POST' && path.startsWith('/transfer/')) {
    return send(res, 200, { ok: node.transferLeader(decodeURIComponent(path.slice('/transfer/'.length))) });
  }
  if (path.startsWith('/kv/')) {
    const key = decodeURIComponent(path.slice('/kv/'.length));
    try {
      if (req.method === 'POST') {
        const body = await readBody(req);
        return send(res, 200, await node.propose(encodePut(key, body)));
      }
      if (req.method === 'GET') {
        if (url.searchParams.get('linearizable') === '1') await node.readBarrier();
        const v = kv.get(key);
        return v ? send(res, 200, { value: Buffer.from(v).toString('utf8') }) : send(res, 404, { error: 'not_found' });
      }
    } catch (err) {
      return sendError(res, err);
    }
  }
  send(res, 404, { error: 'not_found' });
}

function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof NotLeaderError) return send(res, 307, { error: 'not_leader', leaderId: err.leaderId, leaderUrl: err.leaderHttpUrl });
  if (err instanceof NoLeaderError || err instanceof NodeStoppedError) return send(res, 503, { error: 'no_leader', message: err.message });
  if (err instanceof OverloadedError) return send(res, 429, { error: 'overloaded', message: err.message });
  if (err instanceof ProposalOutcomeUnknownError) return send(res, 504, { error: 'outcome_unknown', message: err.message });
  if (err instanceof StorageFailedError) return send(res, 507, { error: 'storage_failed', message: err.message });
  send(res, 500, { error: 'internal', message: (err as Error).message });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(exitCodeFor(err));
});
