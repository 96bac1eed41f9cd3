// The guard of the process tests: a missing or older dist/ output is reported.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { staleBuildOutputs } from '../support/built-dist.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

describe('staleBuildOutputs', () => {
  let root = '';
  afterEach(() => removeDir(root));

  function file(path: string, mtimeSec: number): void {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), '');
    utimesSync(join(root, path), mtimeSec, mtimeSec);
  }

  test('lists sources without output or with older output, and nothing when the build is fresh', () => {
    root = makeTempDir('mom-dist-');
    file('src/main.ts', 1000);
    file('src/api/app.ts', 1000);
    file('src/api/errors.ts', 3000);
    file('dist/main.js', 2000);
    file('dist/api/errors.js', 2000);
    expect(staleBuildOutputs(root).sort()).toEqual(['api/app.ts', 'api/errors.ts']);

    file('dist/api/app.js', 4000);
    file('dist/api/errors.js', 4000);
    expect(staleBuildOutputs(root)).toEqual([]);
  });
});
