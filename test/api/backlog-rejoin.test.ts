// Message bodies live in the Raft log, not in the state machine: a follower whose data
// dir is wiped under a backlog must get the snapshot AND the log entries holding the
// live bodies, then serve every message (bodies included) once it leads.
import { afterAll, describe, expect, test } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { MomClient } from '../../src/client/index.js';
import { requireFreshBuild } from '../support/built-dist.js';

requireFreshBuild();

const T = 180_000;
const BATCHES = 40;
const PER_BATCH = 50;
const TOTAL = BATCHES * PER_BATCH;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Message n: its number and enough padding that the bodies span several log segments' worth of entries. */
const bodyOf = (n: number) => `${String(n).padStart(6, '0')}:${'x'.repeat(500)}`;

function client(urls: string[]): MomClient {
  return new MomClient({ urls, timeoutMs: 10_000, retry: { attempts: 1_000, deadlineMs: 60_000, baseMs: 50, maxMs: 200 } });
}

async function waitApplied(cluster: LocalCluster, id: string, index: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const s = await cluster.status(id);
    if (s !== undefined && s.appliedIndex >= index) return;
    await sleep(100);
  }
  throw new Error(`${id} did not apply index ${index}`);
}

describe('a follower wiped under a backlog', () => {
  let cluster: LocalCluster;
  afterAll(async () => {
    await cluster?.destroy();
  }, T);

  test('rejoins by snapshot with the live bodies, and serves them all once it leads', async () => {
    // A snapshot every 20 entries keeping 5 below it: without the bodies' entries kept
    // and shipped, the wiped follower would have none of them.
    cluster = await LocalCluster.start({
      nodes: 3,
      extraArgs: () => ['--snapshot-every', '20', '--snapshot-retain-entries', '5', '--snapshot-log-percent', '0'],
    });
    await cluster.waitForLeader();
    await cluster.waitReady();
    const urls = cluster.nodes.map((n) => n.httpUrl);
    const producer = client(urls);
    await producer.register('owner', 'owner-password');
    await producer.login('owner', 'owner-password');
    await producer.createQueue({ name: 'backlog', visibilityTimeoutMs: 300_000 }, { idempotencyKey: 'create' });
    const queue = producer.queue('backlog');
    for (let b = 0; b < BATCHES; b++) {
      const messages = Array.from({ length: PER_BATCH }, (_, k) => ({ body: bodyOf(b * PER_BATCH + k) }));
      await queue.sendBatch(messages, { idempotencyKey: `batch-${b}` });
    }

    const leader = await cluster.waitForLeader();
    const [wiped, other] = cluster.nodes.filter((n) => n.id !== leader).map((n) => n.id);
    await cluster.kill(wiped, 'SIGKILL');
    rmSync(cluster.node(wiped).dataDir, { recursive: true, force: true });
    // More entries after the wipe, so the leader's snapshot is past anything it had.
    for (let i = 0; i < 30; i++) await producer.createQueue({ name: `filler-${i}` }, { idempotencyKey: `filler-${i}` });
    const commit = (await cluster.status(leader))!.commitIndex;
    cluster.restart(wiped);
    await waitApplied(cluster, wiped, commit);
    expect(readFileSync(cluster.node(wiped).logFile, 'utf8')).toMatch(/installed a snapshot from the leader/);

    // Make the wiped node the leader: with the other follower paused, a graceful stop of
    // the leader hands leadership to the only follower it can reach.
    cluster.pause(other);
    await cluster.stop(leader);
    cluster.resume(other);
    expect(await cluster.waitForLeader({ among: [wiped, other] })).toBe(wiped);
    cluster.restart(leader);

    const consumer = client([cluster.node(wiped).httpUrl]);
    consumer.token = producer.token;
    const drain = consumer.queue('backlog');
    const seen: number[] = [];
    for (let round = 0; seen.length < TOTAL && round < TOTAL; round++) {
      const messages = await drain.receive({ max: 10 }, { idempotencyKey: `drain-${round}` });
      for (const m of messages) {
        const n = Number(m.body.slice(0, 6));
        expect(m.body).toBe(bodyOf(n));
        seen.push(n);
      }
      if (messages.length > 0) await drain.ack(messages.map((m) => m.receiptHandle), { idempotencyKey: `ack-${round}` });
    }
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    await producer.close();
    await consumer.close();
  }, T);
});
