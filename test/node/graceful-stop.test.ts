// A planned stop of the leader (SIGTERM) while clients keep writing over keep-alive
// connections: the node hands leadership over, drains its connections and exits on
// its own (code 0), well before the launcher's grace would SIGKILL it.
import { Agent, request } from 'undici';
import { LocalCluster, waitFor } from '../../scripts/lib/local-cluster.js';
import { requireFreshBuild } from '../support/built-dist.js';

requireFreshBuild();

describe('graceful stop of the leader under load', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    await cluster.waitReady(undefined, 60_000);
  }, 90_000);
  afterAll(() => cluster?.destroy());

  test('exits by itself with code 0 and another node leads', async () => {
    const leaderId = await cluster.waitForLeader({ timeoutMs: 30_000 });
    const leader = cluster.nodes.find((n) => n.id === leaderId)!;
    const agent = new Agent({ connections: 4, keepAliveTimeout: 60_000 });
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await request(leader.httpUrl + path, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: (await res.body.text()) };
    };
    expect((await post('/v1/auth/register', { username: 'stopper', password: 'password-1' })).status).toBe(201);
    const token = JSON.parse((await post('/v1/auth/login', { username: 'stopper', password: 'password-1' })).body).token as string;
    expect((await post('/v1/queues', { name: 'q' }, token)).status).toBe(201);

    // Four clients keep their keep-alive connections busy until the node goes away.
    let running = true;
    const clients = Array.from({ length: 4 }, async () => {
      while (running) await post('/v1/queues/q/messages', { body: 'x' }, token).catch(() => undefined);
    });
    await new Promise((r) => setTimeout(r, 300));

    // A grace far beyond what a clean stop needs: SIGKILL here means the stop hung.
    await cluster.stop(leaderId, 30_000);
    running = false;
    await Promise.all(clients);
    await agent.close();

    expect(leader.exited).toEqual({ code: 0, signal: null });
    const next = await cluster.waitForLeader({ timeoutMs: 10_000, notId: leaderId });
    expect(next).not.toBe(leaderId);
    const log = await waitFor(async () => {
      const { readFileSync } = await import('node:fs');
      const text = readFileSync(leader.logFile, 'utf8');
      return text.includes('leadership handed off') ? text : undefined;
    }, 5_000, () => 'hand-off log line');
    expect(log).toMatch(/"ok":true/);
  }, 120_000);
});
