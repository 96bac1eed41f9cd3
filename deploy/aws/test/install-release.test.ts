import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderInstallReleaseScript } from '../lib/host/install-release-script.js';
import { cleanScratch, scratchDir } from './support/synth.js';

// Runs the real release installer with bash, its host paths moved into a scratch
// directory and stand-ins on PATH for the three things only a node has: the AWS CLI
// (SSM parameter, S3 object from a local "bucket"), systemctl (recorded) and curl
// (ready when a flag file exists).

afterAll(cleanScratch);

interface Host {
  root: string;
  script: string;
  setRelease(url: string): void;
  publish(key: string, files: Record<string, string>): string;
  run(argument: number | string): { status: number | null; stdout: string; stderr: string };
  systemctl(): string[];
  current(): string;
  releases(): string[];
  setReady(ready: boolean): void;
}

function stub(bin: string, name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

function makeHost(): Host {
  const root = scratchDir('mom-install-host-');
  const bin = join(root, 'bin');
  const paths = {
    hostEnv: join(root, 'etc/mom/host.env'),
    releasesDir: join(root, 'opt/mom/releases'),
    currentRelease: join(root, 'opt/mom/current'),
    brokerLog: join(root, 'var/log/mom/broker.log'),
  };
  for (const dir of [bin, join(root, 'etc/mom'), paths.releasesDir, join(root, 'var/log/mom'), join(root, 'bucket')]) mkdirSync(dir, { recursive: true });
  writeFileSync(paths.hostEnv, 'NODE_ID=n2\nAWS_REGION=eu-west-1\nRELEASE_PARAMETER=/mom/release\nHTTP_PORT=8080\n');
  writeFileSync(paths.brokerLog, 'last broker line\n');
  stub(bin, 'aws', [
    'case "$1 $2" in',
    `  "ssm get-parameter") cat ${join(root, 'parameter')} ;;`,
    `  "s3 cp") key="\${4#s3://bucket/}"; cp "${join(root, 'bucket')}/$key" "$5" ;;`,
    '  *) echo "unexpected aws $*" >&2; exit 99 ;;',
    'esac',
  ].join('\n'));
  stub(bin, 'systemctl', `echo "$*" >> ${join(root, 'systemctl.log')}`);
  stub(bin, 'curl', `[ -f ${join(root, 'ready')} ]`);
  const script = join(root, 'mom-install-release');
  writeFileSync(script, renderInstallReleaseScript(paths));
  chmodSync(script, 0o755);

  return {
    root,
    script,
    setRelease: (url) => writeFileSync(join(root, 'parameter'), `${url}\n`),
    publish(key, files) {
      const staging = join(root, `staging-${key}`);
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(join(staging, name, '..'), { recursive: true });
        writeFileSync(join(staging, name), content);
      }
      const tar = spawnSync('tar', ['-czf', join(root, 'bucket', key), '-C', staging, '.']);
      if (tar.status !== 0) throw new Error(String(tar.stderr));
      return `s3://bucket/${key}`;
    },
    run(argument) {
      const result = spawnSync('/bin/bash', [script, String(argument)], {
        env: { PATH: `${bin}:/usr/bin:/bin` },
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
        timeout: 60_000,
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    systemctl: () => (existsSync(join(root, 'systemctl.log')) ? readFileSync(join(root, 'systemctl.log'), 'utf8').trim().split('\n') : []),
    current: () => readlinkSync(paths.currentRelease),
    releases: () => readdirSync(paths.releasesDir).sort(),
    setReady: (ready) => (ready ? writeFileSync(join(root, 'ready'), '') : undefined),
  };
}

const release = (version: string) => ({ 'dist/main.js': `// broker ${version}\n`, 'release.json': `{"version":"${version}"}\n` });

describe('mom-install-release', () => {
  test('installs the named release, restarts only when it changes, keeps two older ones', () => {
    const host = makeHost();
    host.setRelease(host.publish('aaa.gz', release('1')));
    let run = host.run(0);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('node n2: switching to release aaa (was none)');
    expect(host.current()).toBe(join(host.root, 'opt/mom/releases/aaa'));
    expect(readFileSync(join(host.current(), 'dist/main.js'), 'utf8')).toBe('// broker 1\n');
    expect(host.systemctl()).toEqual(['restart mom-broker']);

    // Same release again, now waiting for /ready: no restart.
    host.setReady(true);
    run = host.run(30);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('node n2: release aaa already installed');
    expect(run.stdout).toContain('node n2: ready on release aaa');
    expect(host.systemctl()).toEqual(['restart mom-broker', 'start mom-broker']);

    expect(host.run('--check')).toMatchObject({ status: 0, stdout: 'node n2: on release aaa\n' });
    host.setRelease(host.publish('bbb.gz', release('bbb')));
    expect(host.run('--check')).toMatchObject({ status: 3, stdout: 'node n2: on release aaa, wants bbb\n' });
    expect(host.systemctl()).toHaveLength(2);

    for (const key of ['bbb', 'ccc', 'ddd']) {
      host.setRelease(host.publish(`${key}.gz`, release(key)));
      expect(host.run(30).status).toBe(0);
    }
    expect(host.current()).toBe(join(host.root, 'opt/mom/releases/ddd'));
    expect(host.systemctl().filter((c) => c === 'restart mom-broker')).toHaveLength(4);
    const kept = host.releases();
    expect(kept).toHaveLength(3);
    expect(kept).toContain('ddd');
  });

  test('fails, saying why, when the node does not become ready', () => {
    const host = makeHost();
    host.setRelease(host.publish('aaa.gz', release('1')));
    const run = host.run(1);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('node n2: not ready 1s after installing release aaa');
    expect(run.stderr).toContain('last broker line');
  });

  test('refuses a parameter that names no tarball, and a release without dist/main.js', () => {
    const host = makeHost();
    host.setRelease('s3://bucket/notes.txt');
    let run = host.run(0);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('does not name an s3://<bucket>/<release>.gz object');

    host.setRelease(host.publish('aaa.gz', release('1')));
    expect(host.run(0).status).toBe(0);
    host.setRelease(host.publish('bad.gz', { 'README.md': 'no build here\n' }));
    run = host.run(0);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('release bad has no dist/main.js');
    expect(host.current()).toBe(join(host.root, 'opt/mom/releases/aaa'));
    expect(host.releases()).toEqual(['aaa']);
  });
});
