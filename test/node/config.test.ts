import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { checkListenAddresses, DEV_JWT_SECRET, loadConfig } from '../../src/node/config.js';
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
