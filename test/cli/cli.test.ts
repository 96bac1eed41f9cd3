// `mom` end to end against a real three-node cluster (dist/main.js processes on
// loopback): the user's commands, output forms, exit codes, and a leader killed in the
// middle of `mom send < file`, after which every line is in the queue exactly once.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, freePort, waitFor } from '../../scripts/lib/local-cluster.js';
import { MomClient } from '../../src/client/index.js';
import { requireFreshBuild } from '../support/built-dist.js';
import { MomRunner } from './support.js';

requireFreshBuild();

const T = 120_000;

describe('mom CLI against a 3-node cluster', () => {
  let cluster: LocalCluster;
  let mom: MomRunner;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3, extraArgs: () => ['--log-level', 'warn'] });
    await cluster.waitForLeader();
    await cluster.waitReady();
    mom = new MomRunner(cluster.nodes.map((n) => n.httpUrl));
    expect((await mom.run(['register', 'carol', '--password-stdin'], { input: 'carol-password\n' })).code).toBe(0);
  }, T);
  afterAll(async () => {
    await cluster?.destroy();
  }, T);

  test('login saves the token (0600) and later commands use it', async () => {
    const notYet = await mom.run(['queue', 'ls']);
    expect(notYet.code).toBe(4);
    expect(notYet.stderr).toContain('mom login');
    const login = await mom.run(['login', 'carol', '--password-stdin', '--json'], { input: 'carol-password\n' });
    expect(login.code).toBe(0);
    const path = join(mom.configHome, 'mom', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(mom.configHome, 'mom')).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { token: string; username: string; urls: string[] };
    expect(saved).toMatchObject({ username: 'carol', urls: mom.urls });
    expect(saved.token.length).toBeGreaterThan(20);
    const bad = await mom.run(['login', 'carol', '--password-stdin'], { input: 'wrong-password\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unauthorized');
  }, T);

  test('queues: create, ls, stats, send, receive --ack, purge, rm, with --json', async () => {
    expect((await mom.run(['queue', 'create', 'work', '--visibility-timeout', '5000'])).code).toBe(0);
    const dup = await mom.run(['queue', 'create', 'work', '--json']);
    expect(dup.code).toBe(2);
    expect(JSON.parse(dup.stdout)).toMatchObject({ error: { code: 'conflict', status: 409 } });
    expect(dup.stderr).toContain('conflict');
    const ls = await mom.run(['queue', 'ls', '--json']);
    expect(JSON.parse(ls.stdout).queues.map((q: { name: string }) => q.name)).toContain('work');
    expect((await mom.run(['queue', 'ls'])).stdout).toMatch(/^NAME\s+OWNER\s+READY/);

    const one = await mom.run(['send', 'work', 'first', '--attr', 'k=v', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ deduplicated: false });
    expect((await mom.run(['send', 'work'], { input: 'second\nthird\n' })).code).toBe(0);
    const stats = JSON.parse((await mom.run(['queue', 'stats', 'work', '--json'])).stdout);
    expect(stats.stats).toEqual({ ready: 3, inflight: 0, delayed: 0 });

    const got = await mom.run(['receive', 'work', '--max', '2', '--ack', '--json']);
    const msgs = got.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(msgs.map((m: { body: string }) => m.body)).toEqual(['first', 'second']);
    expect(msgs[0].attributes).toEqual({ k: 'v' });
    // Without --ack the message stays leased (inflight).
    expect((await mom.run(['receive', 'work'])).stdout).toBe('third\n');
    expect(JSON.parse((await mom.run(['queue', 'stats', 'work', '--json'])).stdout).stats).toEqual({ ready: 0, inflight: 1, delayed: 0 });
    expect((await mom.run(['receive', 'work', '--wait', '100'])).stdout).toBe('');
    expect(JSON.parse((await mom.run(['queue', 'purge', 'work', '--json'])).stdout)).toEqual({ purged: 1 });
    expect((await mom.run(['queue', 'rm', 'work'])).code).toBe(0);
    const gone = await mom.run(['queue', 'stats', 'work']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('not_found');
  }, T);

  test('topics, subscriptions, publish from stdin, grants', async () => {
    expect((await mom.run(['topic', 'create', 'events'])).code).toBe(0);
    expect((await mom.run(['sub', 'create', 'events', 'audit'])).code).toBe(0);
    expect((await mom.run(['topic', 'publish', 'events'], { input: 'e1\ne2\n' })).code).toBe(0);
    expect((await mom.run(['topic', 'publish', 'events', 'e3'])).code).toBe(0);
    const got = await mom.run(['sub', 'receive', 'events', 'audit', '--max', '10', '--wait', '200', '--ack']);
    expect(got.stdout).toBe('e1\ne2\ne3\n');
    expect(JSON.parse((await mom.run(['sub', 'ls', 'events', '--json'])).stdout).subscriptions[0]).toMatchObject({ name: 'audit', stats: { ready: 0, inflight: 0 } });
    expect(JSON.parse((await mom.run(['topic', 'ls', '--json'])).stdout).topics.map((t: { name: string }) => t.name)).toContain('events');

    expect((await mom.run(['register', 'dave', '--password-stdin'], { input: 'dave-password\n' })).code).toBe(0);
    const g = await mom.run(['grant', 'topic', 'events', 'dave', 'publish,subscribe', '--json']);
    expect(JSON.parse(g.stdout)).toEqual({ username: 'dave', permissions: ['publish', 'subscribe'] });
    expect((await mom.run(['grant', 'topic', 'events', 'dave', 'send'])).code).toBe(1);
    expect((await mom.run(['revoke', 'topic', 'events', 'dave'])).code).toBe(0);
    expect((await mom.run(['sub', 'rm', 'events', 'audit'])).code).toBe(0);
    expect((await mom.run(['topic', 'rm', 'events'])).code).toBe(0);
  }, T);

  test('cluster: one row per node, one leader, from any node', async () => {
    const table = await mom.run(['cluster']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NODE\s+URL\s+ROLE\s+TERM\s+COMMIT\/APPLIED\s+LAG\s+LAST CONTACT$/);
    expect(lines).toHaveLength(4);
    const view = JSON.parse((await mom.run(['cluster', '--json', '--url', mom.urls[0]])).stdout);
    expect(view.nodes.map((n: { id: string }) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(view.nodes.filter((n: { role: string }) => n.role === 'leader')).toHaveLength(1);
    expect(view.nodes.every((n: { reachable: boolean }) => n.reachable)).toBe(true);
  }, T);

  test('usage errors exit 1, an unreachable broker exits 3, --help exits 0', async () => {
    expect((await mom.run(['--help'])).code).toBe(0);
    expect((await mom.run(['send', '--help'])).stdout).toContain('Usage: mom send QUEUE [BODY]');
    expect((await mom.run(['nonsense'])).code).toBe(1);
    expect((await mom.run(['queue', 'ls', '--bogus'])).code).toBe(1);
    expect((await mom.run(['receive', 'q', '--max', 'many'])).code).toBe(1);
    const down = await mom.run(['queue', 'ls', '--url', `http://127.0.0.1:${await freePort()}`, '--retry-for', '300']);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('ECONNREFUSED');
  }, T);

  test('the leader is killed in the middle of `mom send < file`: every line is in the queue exactly once', async () => {
    expect((await mom.run(['queue', 'create', 'ledger'])).code).toBe(0);
    const total = 20_000;
    const lines = Array.from({ length: total }, (_, i) => `line-${i}-${(i * 7919) % 100_003}`);
    const file = join(mkdtempSync(join(tmpdir(), 'mom-cli-send-')), 'lines.txt');
    writeFileSync(file, lines.join('\n') + '\n');

    const leader = await cluster.waitForLeader();
    // Small batches stretch the send over a few seconds, so the kill lands in the middle.
    const sending = mom.spawn(['send', 'ledger', '--batch', '20'], { inputFile: file });
    let exited = false;
    void sending.done.then(() => { exited = true; });
    const token = JSON.parse(readFileSync(join(mom.configHome, 'mom', 'config.json'), 'utf8')).token as string;
    const watcher = new MomClient({ urls: mom.urls, token, retry: { attempts: 1 } });
    try {
      const readyAtKill = await waitFor(async () => {
        const q = await watcher.queue('ledger').get({ stale: true }).catch(() => undefined);
        return q !== undefined && q.stats.ready >= total / 10 ? q.stats.ready : undefined;
      }, 60_000, () => 'the send never got a tenth of the way', 20);
      expect(exited).toBe(false);
      expect(readyAtKill).toBeLessThan(total);
      await cluster.kill(leader, 'SIGKILL');
    } finally {
      await watcher.close();
    }
    const result = await sending.done;
    expect(result.stderr).toContain(`sent ${total} of ${total} lines`);
    expect(result.code).toBe(0);
    expect(await cluster.waitForLeader({ notId: leader })).not.toBe(leader);

    // Receive everything back (asking for more than was sent reveals duplicates).
    const back = await mom.run(['receive', 'ledger', '--ack', '--max', String(total + 1000), '--wait', '1000', '--json']);
    expect(back.code).toBe(0);
    const bodies = back.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { body: string }).body);
    expect(bodies).toHaveLength(total);
    expect(new Set(bodies).size).toBe(total);
    expect([...bodies].sort()).toEqual([...lines].sort());
  }, T);
});
