import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { checkListenAddresses, CONFIG_USAGE, configSchema, DEV_CLUSTER_TOKEN, DEV_JWT_SECRET, loadConfig } from '../../src/node/config.js';
import { ConfigError, ListenError } from '../../src/node/errors.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-config-');
  });
  afterEach(() => removeDir(dir));

  const problems = (f: () => unknown): string[] => {
    try {
      f();
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  test('defaults give a single-node cluster with a 300-600 ms election timeout', () => {
    const c = loadConfig(['--data-dir', dir], {});
    expect(c.nodeId).toBe('n1');
    expect(c.peers).toEqual([{ id: 'n1', grpcAddress: '127.0.0.1:9001', httpUrl: 'http://127.0.0.1:8001' }]);
    expect(c.tickMs * c.electionTicks).toBe(300);
    expect(c.leaderMode).toBe('redirect');
    expect(c.dataDir).toBe(dir);
  });

  test('--limits takes name=value pairs or a JSON object; the values must be positive integers', () => {
    expect(loadConfig(['--data-dir', dir], {}).limits).toEqual({});
    expect(loadConfig(['--data-dir', dir, '--limits', 'queuesPerUser=5, messagesPerQueue=10'], {}).limits)
      .toEqual({ queuesPerUser: 5, messagesPerQueue: 10 });
    expect(loadConfig(['--data-dir', dir], { MOM_LIMITS: '{"topicsPerUser": 3}' }).limits).toEqual({ topicsPerUser: 3 });
    expect(problems(() => loadConfig(['--data-dir', dir, '--limits', 'queuesPerUser=0'], {})).join()).toMatch(/limits\.queuesPerUser/);
    expect(problems(() => loadConfig(['--data-dir', dir, '--limits', 'queuesPerUser'], {})).join()).toMatch(/not name=value/);
  });

  test('precedence: defaults < config file < MOM_* env < flags', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ tickMs: 10, electionTicks: 20, snapshotEvery: 7, clusterId: 'from-file', dataDir: dir }));
    const c = loadConfig(['--config', file, '--election-ticks', '30'], { MOM_ELECTION_TICKS: '25', MOM_SNAPSHOT_EVERY: '9' });
    expect(c.tickMs).toBe(10); // file
    expect(c.snapshotEvery).toBe(9); // env over file
    expect(c.electionTicks).toBe(30); // flag over env
    expect(c.clusterId).toBe('from-file');
  });

  test('snapshotRetainEntries: default, MOM_ env, flag, and a clear error for a negative margin', () => {
    expect(loadConfig(['--data-dir', dir], {}).snapshotRetainEntries).toBe(5_000);
    expect(loadConfig(['--data-dir', dir], { MOM_SNAPSHOT_RETAIN_ENTRIES: '100' }).snapshotRetainEntries).toBe(100);
    expect(loadConfig(['--data-dir', dir, '--snapshot-retain-entries', '0'], { MOM_SNAPSHOT_RETAIN_ENTRIES: '100' }).snapshotRetainEntries).toBe(0);
    expect(() => loadConfig(['--data-dir', dir, '--snapshot-retain-entries', '-1'], {})).toThrow(/snapshotRetainEntries/);
  });

  test('peers from a flag, TLS and secrets from files', () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'a-long-cluster-token\n');
    const c = loadConfig(
      [
        '--node-id=n2',
        '--peers',
        'n1@10.0.0.1:9001@http://10.0.0.1:8001,n2@10.0.0.2:9001@http://10.0.0.2:8001',
        '--cluster-token-file',
        token,
        '--data-dir',
        dir,
        '--leader-mode',
        'forward',
      ],
      {},
    );
    expect(c.peers.map((p) => p.id)).toEqual(['n1', 'n2']);
    expect(c.clusterToken).toBe('a-long-cluster-token');
    expect(c.leaderMode).toBe('forward');
  });

  test('every bad value is reported, with where it came from', () => {
    const p = problems(() =>
      loadConfig(['--tick-ms', 'fast', '--leader-mode', 'proxy', '--bogus', 'x', '--data-dir', dir], { MOM_HTTP_LISTEN: 'nohost' }),
    );
    const all = p.join('\n');
    expect(all).toMatch(/unknown flag --bogus/);
    expect(all).toMatch(/tickMs: .*"fast".*flag --tick-ms/);
    expect(all).toMatch(/leaderMode: .*flag --leader-mode/);
    expect(all).toMatch(/httpListen: must be host:port .*env MOM_HTTP_LISTEN/);
  });

  test('a node id that is not among the peers is an unknown peer', () => {
    const p = problems(() => loadConfig(['--node-id', 'n4', '--peers', 'n1@127.0.0.1:9001@http://127.0.0.1:8001', '--data-dir', dir], {}));
    expect(p.join('\n')).toMatch(/unknown peer: nodeId n4 is not one of the peers \(n1\)/);
  });

  test('an unwritable data dir is reported', () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere; a path under a regular file can never be a directory.
      const file = join(dir, 'file');
      writeFileSync(file, 'x');
      expect(problems(() => loadConfig(['--data-dir', join(file, 'sub')], {})).join('\n')).toMatch(/dataDir .* not writable/);
    } else {
      chmodSync(dir, 0o500);
      expect(problems(() => loadConfig(['--data-dir', join(dir, 'sub')], {})).join('\n')).toMatch(/not writable/);
    }
  });

  test('production refuses default secrets', () => {
    const p = problems(() => loadConfig(['--production', '--data-dir', dir], {}));
    expect(p.join('\n')).toMatch(/clusterToken .* required in production/);
    expect(p.join('\n')).toMatch(/jwtSecret .* required in production/);
    expect(() => loadConfig(['--production', '--jwt-secret', DEV_JWT_SECRET, '--cluster-token', 'x'.repeat(20), '--data-dir', dir], {})).toThrow(
      /development default secrets/,
    );
  });

  test('a JWT secret under 32 bytes is refused, from a flag or a file', () => {
    expect(problems(() => loadConfig(['--jwt-secret', 'x'.repeat(31), '--data-dir', dir], {})).join('\n')).toMatch(/jwtSecret: must be at least 32 bytes/);
    const file = join(dir, 'jwt');
    writeFileSync(file, 'short-secret-of-24-bytes\n');
    expect(problems(() => loadConfig(['--jwt-secret-file', file, '--data-dir', dir], {})).join('\n')).toMatch(/jwtSecretFile .* at least 32 bytes/);
    expect(loadConfig(['--jwt-secret', 'y'.repeat(32), '--data-dir', dir], {}).jwtSecret).toBe('y'.repeat(32));
    expect(Buffer.byteLength(DEV_JWT_SECRET)).toBeGreaterThanOrEqual(32);
  });

  test('the development secrets on a non-loopback address are refused unless --insecure-dev', () => {
    const wide = ['--http-listen', '0.0.0.0:8001', '--data-dir', dir];
    expect(problems(() => loadConfig(wide, {})).join('\n')).toMatch(/refusing the development secrets on the non-loopback address 0\.0\.0\.0:8001.*--insecure-dev/);
    expect(problems(() => loadConfig(['--grpc-listen', '10.1.2.3:9001', '--jwt-secret', 'z'.repeat(40), '--data-dir', dir], {})).join('\n')).toMatch(
      /non-loopback address 10\.1\.2\.3:9001/,
    );
    expect(loadConfig([...wide, '--insecure-dev'], {}).clusterToken).toBe(DEV_CLUSTER_TOKEN);
    // Real secrets, or loopback only: no flag needed.
    expect(loadConfig([...wide, '--jwt-secret', 'z'.repeat(40), '--cluster-token', 'a-real-cluster-token'], {}).httpListen).toBe('0.0.0.0:8001');
    expect(loadConfig(['--http-listen', '127.0.0.2:8001', '--data-dir', dir], {}).httpListen).toBe('127.0.0.2:8001');
  });

  test("a node whose own --peers entry disagrees with its advertised URL or listen ports is refused", () => {
    const peers = 'n1@127.0.0.1:9001@http://127.0.0.1:8001,n2@127.0.0.1:9002@http://127.0.0.1:8002';
    const base = ['--node-id', 'n2', '--peers', peers, '--data-dir', dir];
    const ok = loadConfig([...base, '--http-listen', '127.0.0.1:8002', '--grpc-listen', '127.0.0.1:9002'], {});
    expect(ok.advertisedHttpUrl).toBe('http://127.0.0.1:8002'); // from its own entry, not the listen address
    expect(problems(() => loadConfig([...base, '--http-listen', '127.0.0.1:8002', '--grpc-listen', '127.0.0.1:9003'], {})).join('\n')).toMatch(
      /this node's entry n2 has gRPC address 127\.0\.0\.1:9002, but grpcListen is 127\.0\.0\.1:9003/,
    );
    expect(
      problems(() =>
        loadConfig([...base, '--http-listen', '127.0.0.1:8002', '--grpc-listen', '127.0.0.1:9002', '--advertised-http-url', 'http://127.0.0.1:8009'], {}),
      ).join('\n'),
    ).toMatch(/entry n2 has HTTP URL http:\/\/127\.0\.0\.1:8002, but advertisedHttpUrl is http:\/\/127\.0\.0\.1:8009/);
    expect(problems(() => loadConfig([...base, '--http-listen', '127.0.0.1:8005', '--grpc-listen', '127.0.0.1:9002'], {})).join('\n')).toMatch(
      /does not use httpListen's port 8005/,
    );
  });

  test('trusted proxies: a comma-separated CIDR list; a bad entry is named', () => {
    expect(loadConfig(['--trusted-proxies', '10.0.0.0/24, 10.0.1.0/24,::1', '--data-dir', dir], {}).trustedProxies).toEqual(['10.0.0.0/24', '10.0.1.0/24', '::1']);
    expect(loadConfig(['--data-dir', dir], {}).trustedProxies).toEqual([]);
    expect(problems(() => loadConfig(['--trusted-proxies', '10.0.0.0/33', '--data-dir', dir], {})).join('\n')).toMatch(/trustedProxies\.0: must be an IPv4 or IPv6 CIDR/);
  });

  test('--help gives every flag a description and its default', () => {
    const lines = CONFIG_USAGE.split('\n');
    for (const [field, schema] of Object.entries(configSchema.shape)) {
      const flag = '--' + field.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase());
      const line = lines.find((l) => l.trim().startsWith(flag + ' ')) ?? lines.find((l) => l.trim().startsWith(flag + '-'));
      expect(line).toBeDefined();
      expect(line!.length).toBeGreaterThan(flag.length + 20);
      const def = (schema as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def;
      if (def.type === 'default') expect(line).toContain('[default: ');
    }
    expect(CONFIG_USAGE).toMatch(/--tick-ms <int> +Raft tick length \[default: 50\] \(MOM_TICK_MS\)/);
    expect(CONFIG_USAGE).toMatch(/--leader-mode <redirect\|forward>/);
  });

  test('a port in use is a clear error', async () => {
    const srv: Server = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const err = await checkListenAddresses({ httpListen: `127.0.0.1:${port}`, grpcListen: '127.0.0.1:0' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as Error).message).toBe(`HTTP listen address 127.0.0.1:${port} is already in use (is another node running?)`);
    } finally {
      srv.close();
    }
  });
});
