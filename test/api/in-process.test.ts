// The conformance suite over the HTTP layer with a directly-applied broker (no Raft):
// fast, and independent of the node. cluster.test.ts runs it against real processes.
import { afterAll, beforeAll, describe } from '@jest/globals';
import { conformanceSuite } from './support/conformance.js';
import { startInProcessCluster, type InProcessCluster } from './support/in-process.js';

for (const mode of ['redirect', 'forward'] as const) {
  describe(`API conformance, in process, ${mode} mode`, () => {
    let cluster: InProcessCluster;
    beforeAll(async () => {
      cluster = await startInProcessCluster(mode);
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
    }));
  });
}
