// A real node process (dist/main.js) that must not start: each case exits with the
// configuration exit code and says why on stderr, before it listens on anything.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/node/errors.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const built = existsSync('dist/main.js');
const maybe = built ? describe : describe.skip;

maybe('a node refuses to start', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-refuse-');
  });
  afterEach(() => removeDir(dir));

  const run = (args: string[]) => {
    const res = spawnSync(process.execPath, ['dist/main.js', '--data-dir', join(dir, 'data'), ...args], { encoding: 'utf8', timeout: 20_000 });
    return { code: res.status, stderr: res.stderr };
  };

  test('with the development secrets on a non-loopback address', () => {
    const res = run(['--http-listen', '0.0.0.0:0', '--grpc-listen', '127.0.0.1:0']);
    expect(res.code).toBe(ExitCode.config);
    expect(res.stderr).toMatch(/refusing the development secrets on the non-loopback address 0\.0\.0\.0:0/);
  });

  test('with a JWT secret under 32 bytes', () => {
    const res = run(['--jwt-secret', 'only-twenty-two-bytes!', '--http-listen', '127.0.0.1:0', '--grpc-listen', '127.0.0.1:0']);
    expect(res.code).toBe(ExitCode.config);
    expect(res.stderr).toMatch(/jwtSecret: must be at least 32 bytes/);
  });

  test('when its own --peers entry disagrees with its listen port', () => {
    const res = run([
      '--node-id', 'n1',
      '--peers', 'n1@127.0.0.1:19001@http://127.0.0.1:18001,n2@127.0.0.1:19002@http://127.0.0.1:18002',
      '--http-listen', '127.0.0.1:18001',
      '--grpc-listen', '127.0.0.1:19005',
    ]);
    expect(res.code).toBe(ExitCode.config);
    expect(res.stderr).toMatch(/this node's entry n1 has gRPC address 127\.0\.0\.1:19001, but grpcListen is 127\.0\.0\.1:19005/);
  });

  test('--help lists every flag with its default and exits 0', () => {
    const res = spawnSync(process.execPath, ['dist/main.js', '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/--trusted-proxies <list> +CIDRs of load balancers/);
    expect(res.stdout).toMatch(/--max-connections <int> .*\[default: 4096\]/);
  });
});
