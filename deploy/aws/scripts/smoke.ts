import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE_IDS, type NodePlacement } from '../lib/cluster-layout.js';
import { nodeConfig } from '../lib/host/node-config.js';
import { freePort } from '../../../scripts/lib/free-port.js';
import { renderIssueNodeCertScript } from '../lib/host/node-tls.js';
import { HOST_PATHS, type HostPaths } from '../lib/host/paths.js';

// `make aws-smoke`: the release tarball exactly as the nodes get it, run as a three-node
// cluster on 127.0.0.1 with the config the AWS nodes get (forward mode, production,
// secrets from files, gRPC over mutual TLS with certificates issued by the boot script's
// issuer from one CA seed); only addresses and paths are local. Checks /health, /ready,
// /v1/cluster and a write sent to a follower (forwarded to the leader).

const tarball = resolve(process.argv[2] ?? 'build/release.tar.gz');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mom-aws-smoke-'));
  const children: ChildProcess[] = [];
  const logs = new Map<string, string>();
  try {
    const release = join(work, 'release');
    mkdirSync(release);
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', release]);
    if (untar.status !== 0) throw new Error(`cannot unpack ${tarball}: ${untar.stderr}`);
    writeFileSync(join(work, 'jwt-secret'), 'smoke-jwt-secret-'.padEnd(64, 'x'));
    writeFileSync(join(work, 'cluster-token'), 'smoke-cluster-token-'.padEnd(48, 'y'));
    writeFileSync(join(work, 'tls-ca-seed'), 'smoke-tls-ca-seed-'.padEnd(64, 'z'));

    /** The boot script's certificate issuer, run for one node into its own directory. */
    const issueCert = (nodeId: string): HostPaths => {
      const root = join(work, `host-${nodeId}`);
      const paths = Object.fromEntries(Object.entries(HOST_PATHS).map(([k, v]) => [k, join(root, v)])) as HostPaths;
      paths.nodeBinary = process.execPath;
      mkdirSync(root);
      const script = join(root, 'issue.sh');
      writeFileSync(script, renderIssueNodeCertScript(paths), { mode: 0o755 });
      const issued = spawnSync('/bin/bash', [script, join(work, 'tls-ca-seed'), nodeId, '127.0.0.1', 'mom-aws-smoke'], { encoding: 'utf8' });
      if (issued.status !== 0) throw new Error(`certificate of ${nodeId}: ${issued.stdout}${issued.stderr}`);
      return paths;
    };

    const nodes: NodePlacement[] = [];
    for (const [zoneIndex, nodeId] of NODE_IDS.entries()) {
      const http = await freePort();
      const grpc = await freePort();
      nodes.push({ nodeId, zoneIndex, privateIp: '127.0.0.1', grpcAddress: `127.0.0.1:${grpc}`, httpUrl: `http://127.0.0.1:${http}` });
    }
    for (const node of nodes) {
      const config = {
        ...nodeConfig({ nodeId: node.nodeId, clusterId: 'mom-aws-smoke', nodes }),
        httpListen: node.httpUrl.replace('http://', ''),
        grpcListen: node.grpcAddress,
        dataDir: join(work, `data-${node.nodeId}`),
        jwtSecretFile: join(work, 'jwt-secret'),
        clusterTokenFile: join(work, 'cluster-token'),
        tls: (({ tlsCert, tlsKey, tlsCa }) => ({ cert: tlsCert, key: tlsKey, ca: tlsCa }))(issueCert(node.nodeId)),
        logLevel: 'warn',
      };
      const file = join(work, `${node.nodeId}.json`);
      writeFileSync(file, JSON.stringify(config, null, 2));
      const child = spawn(process.execPath, [join(release, 'dist/main.js'), '--config', file], {
        cwd: release,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_ENV: 'production' },
      });
      logs.set(node.nodeId, '');
      const keep = (chunk: Buffer) => logs.set(node.nodeId, (logs.get(node.nodeId) ?? '') + chunk.toString());
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      children.push(child);
    }

    let ready = false;
    for (let attempt = 0; attempt < 120 && !ready; attempt++) {
      await sleep(500);
      const answers = await Promise.all(nodes.map((n) => fetch(`${n.httpUrl}/ready`).then((r) => r.status).catch(() => 0)));
      ready = answers.every((s) => s === 200);
    }
    if (!ready) throw new Error('the three nodes did not all answer /ready within 60 s');
    console.log('all three nodes ready');

    for (const node of nodes) {
      const health = await getJson(`${node.httpUrl}/health`);
      if (health.status !== 200) throw new Error(`${node.nodeId} /health answered ${health.status}`);
    }
    const cluster = await getJson(`${nodes[0].httpUrl}/v1/cluster`);
    const leaderId: string = cluster.body.leaderId;
    if (!leaderId || cluster.body.nodes?.length !== 3) throw new Error(`unexpected /v1/cluster: ${JSON.stringify(cluster.body)}`);
    console.log(`leader ${leaderId}, term ${cluster.body.term}`);

    const follower = nodes.find((n) => n.nodeId !== leaderId)!;
    const registered = await getJson(`${follower.httpUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'smoke', password: 'smoke-password' }),
      redirect: 'manual',
    });
    if (registered.status !== 201) {
      throw new Error(`a write sent to follower ${follower.nodeId} answered ${registered.status} ${JSON.stringify(registered.body)} (forward mode)`);
    }
    console.log(`write through follower ${follower.nodeId} forwarded to the leader: 201`);
    console.log('aws-smoke: the release runs a forward-mode cluster with the AWS node config');
  } catch (error) {
    for (const [nodeId, text] of logs) if (text.trim()) console.error(`--- ${nodeId} output (last lines)\n${text.trim().split('\n').slice(-15).join('\n')}`);
    throw error;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`aws-smoke: ${(error as Error).message}`);
  process.exit(1);
});
