import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { HOST_PATHS, type HostPaths } from '../lib/host/paths.js';
import { renderIssueNodeCertScript } from '../lib/host/node-tls.js';
import { cleanScratch, scratchDir } from './support/synth.js';

// The certificate issuer of the boot script, run for real (bash, node, openssl) on two
// scratch "hosts" that share only the CA seed, as two nodes do on AWS.

afterAll(cleanScratch);

function issue(seed: string, nodeId: string, ip: string): HostPaths {
  const root = scratchDir('mom-tls-host-');
  const paths = Object.fromEntries(Object.entries(HOST_PATHS).map(([k, v]) => [k, join(root, v)])) as HostPaths;
  paths.nodeBinary = process.execPath;
  const script = join(root, 'issue.sh');
  writeFileSync(script, renderIssueNodeCertScript(paths), { mode: 0o755 });
  const seedFile = join(root, 'seed');
  writeFileSync(seedFile, `${seed}\n`);
  const res = spawnSync('/bin/bash', [script, seedFile, nodeId, ip, 'mom-aws'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) throw new Error(`issuer failed: ${res.stdout}${res.stderr}`);
  return paths;
}

const verify = (ca: string, cert: string) => spawnSync('openssl', ['verify', '-CAfile', ca, cert], { encoding: 'utf8' }).status === 0;

/** A mutual-TLS handshake as grpc-js makes it: the server checks the client's chain,
 *  the client checks the chain and the IP in the server's certificate. */
function handshake(server: HostPaths, client: HostPaths, ip: string): Promise<string> {
  return new Promise((resolve) => {
    const srv = createServer(
      { cert: readFileSync(server.tlsCert), key: readFileSync(server.tlsKey), ca: readFileSync(server.tlsCa), requestCert: true, rejectUnauthorized: true },
      (socket: TLSSocket) => socket.end('hello'),
    );
    srv.listen(0, ip, () => {
      const port = (srv.address() as { port: number }).port;
      const socket = connect({ host: ip, port, cert: readFileSync(client.tlsCert), key: readFileSync(client.tlsKey), ca: readFileSync(client.tlsCa) });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      const done = (outcome: string) => {
        socket.destroy();
        srv.close();
        resolve(outcome);
      };
      socket.on('end', () => done(data));
      socket.on('error', (err) => done(`error: ${err.message}`));
    });
  });
}

describe('node certificates from the shared CA seed', () => {
  const seed = 'q'.repeat(64);
  const n1 = issue(seed, 'n1', '127.0.0.1');
  const n2 = issue(seed, 'n2', '127.0.0.2');
  const stranger = issue('z'.repeat(64), 'n1', '127.0.0.1');

  test("each node's CA copy verifies the other nodes' certificates, not a stranger's", () => {
    expect(verify(n1.tlsCa, n2.tlsCert)).toBe(true);
    expect(verify(n2.tlsCa, n1.tlsCert)).toBe(true);
    expect(verify(n1.tlsCa, stranger.tlsCert)).toBe(false);
    expect(verify(stranger.tlsCa, n2.tlsCert)).toBe(false);
  });

  test('certificates name the node IP and allow server and client use', () => {
    const text = spawnSync('openssl', ['x509', '-in', n2.tlsCert, '-noout', '-text'], { encoding: 'utf8' }).stdout;
    expect(text).toContain('IP Address:127.0.0.2');
    expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toContain('Subject: CN = n2');
  });

  test('two nodes complete a mutual TLS handshake; a node from another seed cannot', async () => {
    expect(await handshake(n1, n2, '127.0.0.1')).toBe('hello');
    expect(await handshake(n1, stranger, '127.0.0.1')).toMatch(/^error|^$/);
  });
});
