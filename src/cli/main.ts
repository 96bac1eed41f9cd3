#!/usr/bin/env node
// The `mom` executable (package.json "bin"). Ctrl-C aborts the running command; a
// second Ctrl-C ends the process at once.
import { runCli } from './run.js';

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort(new Error('interrupted'));
  process.once('SIGINT', () => process.exit(130));
});
// A closed pipe (mom receive ... | head) ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

const code = await runCli(process.argv.slice(2), process.env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, controller.signal);
process.exitCode = code;
// Let stdout drain, then leave even if stdin (a terminal) is still open.
process.stdout.write('', () => process.exit(code));
