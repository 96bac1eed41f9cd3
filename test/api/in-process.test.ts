// The conformance suite over the HTTP layer with a directly-applied broker (no Raft):
// fast, and independent of the node. cluster.test.ts runs it against real processes.
import { afterAll, beforeAll, describe } from '@jest/globals';
import { expect, test } from '@jest/globals';
import { rawRequest } from './support/client.js';
import { CONFORMANCE_LIMITS, conformanceSuite } from './support/conformance.js';
import { startInProcessCluster, type InProcessCluster } from './support/in-process.js';

for (const mode of ['redirect', 'forward'] as const) {
  describe(`API conformance, in process, ${mode} mode`, () => {
    let cluster: InProcessCluster;
    beforeAll(async () => {
      cluster = await startInProcessCluster(mode, { limits: CONFORMANCE_LIMITS });
    });
    afterAll(async () => {
      await cluster.close();
    });
    conformanceSuite(() => ({
      mode,
      urls: cluster.urls,
      leaderUrl: async () => cluster.leaderUrl,
      followerUrl: async () => cluster.followerUrls[0],
      jwtSecret: cluster.jwtSecret,
      clusterId: cluster.clusterId,
      metricsToken: cluster.metricsToken,
    }));
  });
}

describe('forwarding cannot be faked by clients', () => {
  let cluster: InProcessCluster;
  beforeAll(async () => {
    // Small buckets that never refill during the test: no dependence on its speed.
    cluster = await startInProcessCluster('redirect', {
      loginLimits: {
        perUsername: { capacity: 100, refillEveryMs: 3_600_000 },
        perAddress: { capacity: 5, refillEveryMs: 3_600_000 },
      },
    });
  });
  afterAll(async () => {
    await cluster.close();
  });

  test('a made-up forward secret is ignored: the follower still redirects', async () => {
    const res = await rawRequest(cluster.followerUrls[0], 'POST', '/v1/auth/login', {
      body: { username: 'someone', password: 'whatever-password' },
      headers: { 'x-mom-forward-secret': 'guessed', 'x-mom-forwarded-for': '10.9.8.7' },
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`${cluster.leaderUrl}/v1/auth/login`);
  });

  test('a made-up forwarded-for address does not dodge login throttling', async () => {
    // Failures spread over many usernames trip only the per-address bucket (5 here).
    // Were the header trusted, every attempt would come from a new address.
    let limitedAfter = 0;
    for (let i = 1; i <= 10 && !limitedAfter; i++) {
      const res = await rawRequest(cluster.leaderUrl, 'POST', '/v1/auth/login', {
        body: { username: `nobody-${i}`, password: 'wrong-password' },
        headers: { 'x-mom-forwarded-for': `10.0.0.${i}` },
      });
      if (res.status === 429) limitedAfter = i;
      else expect(res.status).toBe(401);
    }
    expect(limitedAfter).toBe(6);
  });
});
