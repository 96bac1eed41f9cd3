// The node's V8 flags are written once (src/runtime-flags.ts); the launchers that
// cannot import it (the AWS unit, a separate package; the README) must say the same.
import { readFileSync } from 'node:fs';
import { NODE_PROCESS_FLAGS } from '../../src/runtime-flags.js';
import { NODE_PROCESS_FLAGS as UNIT_FLAGS, renderSystemdUnit } from '../../deploy/aws/lib/host/systemd-unit.js';

describe('V8 flags of a node process', () => {
  test('the systemd unit passes exactly the flags of src/runtime-flags.ts, before the script', () => {
    expect(UNIT_FLAGS).toEqual(NODE_PROCESS_FLAGS);
    const execStart = renderSystemdUnit({ nodeId: 'n1' }).split('\n').find((l) => l.startsWith('ExecStart='))!;
    expect(execStart).toContain(`node ${NODE_PROCESS_FLAGS.join(' ')} `);
    expect(execStart.indexOf(NODE_PROCESS_FLAGS[0])).toBeLessThan(execStart.indexOf('dist/main.js'));
  });

  test("the README's command line passes them", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`node ${NODE_PROCESS_FLAGS.join(' ')} dist/main.js --node-id n1`);
  });
});
