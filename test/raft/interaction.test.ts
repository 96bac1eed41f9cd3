import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runScript } from './interaction.js';

// Every file in testdata/ is a script of commands with the exact output each must
// produce (etcd-io/raft style). Run with REWRITE=1 to record new outputs, then review
// the diff like any other code change.
const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe('interaction scripts', () => {
  test('there are scripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    test(f, () => {
      const path = join(dir, f);
      const text = readFileSync(path, 'utf8');
      const out = runScript(text);
      if (process.env.REWRITE === '1') writeFileSync(path, out);
      else expect(out.trimEnd()).toBe(text.trimEnd());
    });
  }
});
