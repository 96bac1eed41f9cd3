import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planNodes } from '../lib/cluster-layout.js';
import { renderNodeConfig } from '../lib/host/node-config.js';
import { cleanScratch, scratchDir } from './support/synth.js';

// The broker's own configuration loader (docs/contracts.md, NodeConfig): the config
// file the nodes get on AWS must be one the broker accepts, as it evolves. Imported at
// run time through a variable so this package's typecheck does not pull in (and depend
// on the compile state of) the broker's sources.
const brokerConfigModule = '../../../src/node/config.js';
type LoadConfig = (argv: string[], env: Record<string, string | undefined>) => Record<string, unknown> & { peers: unknown };
let loadConfig: LoadConfig;
beforeAll(async () => {
  ({ loadConfig } = (await import(brokerConfigModule)) as { loadConfig: LoadConfig });
});

afterAll(cleanScratch);

test('the broker accepts the config file each AWS node gets', () => {
  const layout = planNodes(['10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24']);
  for (const { nodeId } of layout) {
    const dir = scratchDir('mom-aws-config-');
    const rendered = JSON.parse(
      renderNodeConfig({ nodeId, clusterId: 'mom-aws', nodes: layout, trustedProxies: ['10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24'] }),
    ) as Record<string, unknown>;
    // Only the host paths move into the scratch dir; every other field is as on AWS.
    writeFileSync(join(dir, 'jwt-secret'), 'j'.repeat(64));
    writeFileSync(join(dir, 'cluster-token'), 't'.repeat(48));
    mkdirSync(join(dir, 'data'));
    const file = join(dir, 'node.json');
    for (const f of ['ca.pem', 'node.pem', 'node.key']) writeFileSync(join(dir, f), 'pem');
    const tls = { cert: join(dir, 'node.pem'), key: join(dir, 'node.key'), ca: join(dir, 'ca.pem') };
    writeFileSync(
      file,
      JSON.stringify({ ...rendered, tls, jwtSecretFile: join(dir, 'jwt-secret'), clusterTokenFile: join(dir, 'cluster-token'), dataDir: join(dir, 'data') }),
    );

    const config = loadConfig(['--config', file], {});
    const self = layout.find((n) => n.nodeId === nodeId)!;
    expect(config).toMatchObject({
      nodeId,
      clusterId: 'mom-aws',
      httpListen: '0.0.0.0:8080',
      grpcListen: '0.0.0.0:9090',
      advertisedHttpUrl: self.httpUrl,
      leaderMode: 'forward',
      production: true,
      logLevel: 'info',
      trustedProxies: ['10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24'],
    });
    expect(config.peers).toEqual(layout.map((n) => ({ id: n.nodeId, grpcAddress: n.grpcAddress, httpUrl: n.httpUrl })));
  }
});
