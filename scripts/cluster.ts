// `make cluster` (NODES=5 for five): starts the broker nodes as separate processes on
// 127.0.0.1 (HTTP 8001.., gRPC 9001.., data in ./data/node-N; --http-base, --grpc-base
// and --data move them), prints where each
// listens and who leads, and keeps running until Ctrl-C, then stops them all
// cleanly. A node that dies is reported, never restarted behind your back: restart
// it by hand with the command line printed for it, and it rejoins.
import { existsSync } from 'node:fs';
import { checkListenAddresses } from '../src/node/config.js';
import { LocalCluster, type LocalNode } from './lib/local-cluster.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

async function main(): Promise<void> {
  const count = Number(arg('nodes', process.env.NODES ?? '3'));
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`--nodes must be 1-9, got ${arg('nodes', '')}`);
  const entry = arg('entry', 'node dist/main.js').split(' ');
  const script = entry.find((p) => p.endsWith('.js') || p.endsWith('.ts'));
  if (script && !existsSync(script)) throw new Error(`${script} does not exist; run \`make build\` first (make cluster does it)`);
  const dataRoot = arg('data', 'data');

  const cluster = await LocalCluster.prepare({
    nodes: count,
    entry,
    dataRoot,
    fixedPorts: { httpBase: Number(arg('http-base', '8001')), grpcBase: Number(arg('grpc-base', '9001')) },
    output: 'file',
  });
  for (const n of cluster.nodes) {
    await checkListenAddresses({ httpListen: n.httpListen, grpcListen: n.grpcAddress }).catch((err: Error) => {
      throw new Error(`${n.id}: ${err.message}. Is another cluster still running? (stop it, or \`make cluster-clean\` if only data is left)`);
    });
  }

  let stopping = false;
  cluster.on('exit', (n: LocalNode) => {
    if (stopping) return;
    const how = n.exited?.signal ? `killed by ${n.exited.signal}` : `exit code ${n.exited?.code}`;
    log(`!! ${n.id} died (${how}); not restarting it. Log: ${n.logFile}`);
    log(`   restart it by hand with:\n   ${n.argv.map(shellQuote).join(' ')}`);
  });

  for (const n of cluster.nodes) cluster.spawnNode(n);
  log(`started ${count} nodes (cluster ${cluster.secrets.clusterId}, data in ${cluster.dataRoot}):`);
  for (const n of cluster.nodes) {
    log(`  ${n.id}  http ${n.httpUrl}  grpc ${n.grpcAddress}  data ${n.dataDir}  log ${n.logFile}  pid ${n.process?.pid}`);
  }
  log(`command line of n1 (the others differ only in id, ports and data dir):\n  ${cluster.nodes[0].argv.map(shellQuote).join(' ')}`);

  let leader = '';
  try {
    leader = await cluster.waitForLeader({ timeoutMs: 30_000 });
    log(`leader: ${leader} (${cluster.node(leader).httpUrl}). Ctrl-C stops the cluster.`);
  } catch (err) {
    log(`no leader yet: ${(err as Error).message}. Still running; see the node logs.`);
  }

  // Report leader changes as they happen.
  const watch = setInterval(async () => {
    if (stopping) return;
    const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
    const seen = statuses.find((s) => s?.role === 'leader');
    const now = seen?.nodeId ?? '';
    if (now !== leader) {
      leader = now;
      log(now ? `leader is now ${now} (term ${seen!.term})` : 'no leader at the moment');
    }
  }, 1000);

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    log(`${signal}: stopping all nodes...`);
    await cluster.stopAll(10_000);
    for (const n of cluster.nodes) {
      const how = n.exited?.signal ? `signal ${n.exited.signal}` : `code ${n.exited?.code ?? 'not running'}`;
      log(`  ${n.id} stopped (${how})`);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

function log(line: string): void {
  process.stdout.write(`[cluster ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`cluster: ${err.message}\n`);
  process.exit(1);
});
