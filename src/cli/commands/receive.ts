// mom receive QUEUE and mom sub receive TOPIC SUB: print messages (the body per line, or
// NDJSON with --json), optionally ack them after printing, once or --follow.
import { MAX_RECEIVE, MAX_VISIBILITY_TIMEOUT_MS } from '../../broker/limits.js';
import { intOption } from '../args.js';
import type { Command, Context } from '../command.js';
import type { Inbox } from '../../client/index.js';

async function receiveCommand(ctx: Context, inbox: Inbox): Promise<number | void> {
  const follow = ctx.values.follow === true;
  const ack = ctx.values.ack === true;
  const max = intOption(ctx.values, 'max', 1, Number.MAX_SAFE_INTEGER) ?? (follow ? undefined : 1);
  const waitMs = intOption(ctx.values, 'wait', 0, 20_000) ?? (follow ? 20_000 : 0);
  const visibilityTimeoutMs = intOption(ctx.values, 'visibility-timeout', 0, MAX_VISIBILITY_TIMEOUT_MS);
  let got = 0;
  while (max === undefined || got < max) {
    let messages;
    try {
      messages = await inbox.receive({
        max: Math.min(MAX_RECEIVE, max === undefined ? MAX_RECEIVE : max - got),
        waitMs,
        ...(visibilityTimeoutMs !== undefined && { visibilityTimeoutMs }),
      }, { signal: ctx.signal });
    } catch (err) {
      // Ctrl-C ends --follow: the normal way out.
      if (ctx.signal.aborted) return follow ? 0 : 130;
      throw err;
    }
    for (const m of messages) ctx.out.line(ctx.out.json ? JSON.stringify(m) : m.body);
    got += messages.length;
    if (ack && messages.length > 0) await inbox.ack(messages.map((m) => m.receiptHandle));
    if (!follow && messages.length === 0) break;
  }
}

const receiveHelp = `  --max N                 stop after N messages (default 1; no limit with --follow)
  --wait MS               long-poll each receive up to MS (0..20000; default 0, 20000 with --follow)
  --follow                keep receiving until Ctrl-C
  --ack                   ack each message after printing it (else it comes back after its lease)
  --visibility-timeout MS lease of the received messages
  Without --follow, it stops at the first receive that finds nothing.`;

const receiveOptions = {
  max: { type: 'string' },
  wait: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  ack: { type: 'boolean' },
  'visibility-timeout': { type: 'string' },
} as const;

export const receive: Command = {
  words: ['receive'],
  usage: 'QUEUE [options]',
  summary: 'receive messages from a queue',
  help: receiveHelp,
  options: receiveOptions,
  args: [1, 1],
  run: (ctx) => receiveCommand(ctx, ctx.client().queue(ctx.args[0])),
};

export const subReceive: Command = {
  words: ['sub', 'receive'],
  usage: 'TOPIC SUB [options]',
  summary: 'receive messages from a subscription',
  help: receiveHelp,
  options: receiveOptions,
  args: [2, 2],
  run: (ctx) => receiveCommand(ctx, ctx.client().topic(ctx.args[0]).subscription(ctx.args[1])),
};
