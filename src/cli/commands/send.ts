// mom send QUEUE [BODY] and mom topic publish TOPIC [BODY]. Without BODY, each line of
// stdin is one message: lines go in batches (SendBatcher: one Idempotency-Key per batch,
// reused on every retry, so a leader change never sends a line twice), in order, with a
// progress line on stderr when it is a terminal and the input takes a while.
import { MAX_DELAY_MS } from '../../broker/limits.js';
import { createInterface } from 'node:readline';
import { intOption, stringOption, type Values } from '../args.js';
import { UsageError } from '../exit-codes.js';
import type { Command, Context } from '../command.js';
import type { SendBatcher } from '../../client/batcher.js';
import type { SentView } from '../../client/index.js';

const PROGRESS_AFTER_MS = 1000;
const PROGRESS_EVERY_MS = 250;

function attributes(values: Values): Record<string, string> | undefined {
  const list = values.attr;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`--attr takes NAME=VALUE, got ${JSON.stringify(a)}`);
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

interface Target {
  one(message: object): Promise<SentView>;
  batcher(opts: { lingerMs?: number; maxMessages?: number; maxInFlight?: number }): SendBatcher;
}

async function sendCommand(ctx: Context, target: Target, extra: Record<string, unknown>): Promise<number | void> {
  const attrs = attributes(ctx.values);
  const base = { ...(attrs && { attributes: attrs }), ...extra };
  if (ctx.args.length === 2) {
    const dedup = stringOption(ctx.values, 'dedup-id');
    const sent = await target.one({ body: ctx.args[1], ...base, ...(dedup !== undefined && { deduplicationId: dedup }) });
    ctx.out.result(sent, () => sent.id + (sent.deduplicated ? ' (deduplicated)' : ''));
    return;
  }
  if (ctx.values['dedup-id'] !== undefined) throw new UsageError('--dedup-id applies to one BODY, not to stdin lines');
  return sendLines(ctx, target, base);
}

async function sendLines(ctx: Context, target: Target, base: Record<string, unknown>): Promise<number | void> {
  const batcher = target.batcher({
    lingerMs: intOption(ctx.values, 'linger', 0, 10_000) ?? 5,
    maxMessages: intOption(ctx.values, 'batch', 1, 100) ?? 100,
    maxInFlight: intOption(ctx.values, 'in-flight', 1, 64) ?? 1,
  });
  const { out } = ctx;
  const started = Date.now();
  let read = 0;
  let sent = 0;
  let deduplicated = 0;
  let failed: unknown;
  // Answers come back in line order (one batch in flight keeps it); waiting on the
  // oldest bounds how many lines are held in memory.
  let window: Promise<void>[] = [];
  let head = 0;
  const progress = out.stderrIsTty
    ? setInterval(() => {
      const ms = Date.now() - started;
      if (ms < PROGRESS_AFTER_MS) return;
      out.io.stderr.write(`\rsent ${sent} of ${read} lines read, ${Math.round((sent * 1000) / ms)} msg/s   `);
    }, PROGRESS_EVERY_MS)
    : undefined;
  const lines = createInterface({ input: out.io.stdin, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (failed !== undefined || ctx.signal.aborted) break;
      const n = ++read;
      window.push(batcher.send({ body: line, ...base }).then((r) => {
        sent++;
        if (r.deduplicated) deduplicated++;
        if (out.json) out.line(JSON.stringify({ line: n, ...r }));
      }, (err: unknown) => {
        failed ??= err;
      }));
      if (window.length - head >= 2000) await window[head++];
      if (head >= 10_000) {
        window = window.slice(head);
        head = 0;
      }
    }
    await batcher.flush();
    await Promise.all(window.slice(head));
  } finally {
    lines.close();
    if (progress !== undefined) {
      clearInterval(progress);
      out.io.stderr.write('\r\x1b[K');
    }
  }
  const summary = `sent ${sent} of ${read} lines${deduplicated > 0 ? ` (${deduplicated} deduplicated)` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (failed !== undefined) {
    out.note(`${summary}; stopped at the first failed batch`);
    throw failed instanceof Error ? failed : new Error(String(failed));
  }
  if (!out.json) out.note(summary);
  if (ctx.signal.aborted) return 130;
}

const sendHelp = `  Without BODY, every line of stdin is one message, sent in batches.
  --attr NAME=VALUE   a message attribute (repeatable)
  --dedup-id ID       deduplication id (one BODY only)
  --batch N           messages per request (1..100, default 100)
  --linger MS         how long a batch waits for more lines (default 5)
  --in-flight N       batch requests at once (default 1, which keeps the line order)`;

const sendOptions = {
  attr: { type: 'string', multiple: true },
  'dedup-id': { type: 'string' },
  batch: { type: 'string' },
  linger: { type: 'string' },
  'in-flight': { type: 'string' },
} as const;

export const send: Command = {
  words: ['send'],
  usage: 'QUEUE [BODY] [options]',
  summary: 'send a message, or one per line of stdin',
  help: `${sendHelp}\n  --delay MS          deliver no sooner than this (0..${MAX_DELAY_MS})`,
  options: { ...sendOptions, delay: { type: 'string' } },
  args: [1, 2],
  run(ctx) {
    const q = ctx.client().queue(ctx.args[0]);
    const delayMs = intOption(ctx.values, 'delay', 0, MAX_DELAY_MS);
    return sendCommand(ctx, { one: (m) => q.send(m as never, { signal: ctx.signal }), batcher: (o) => q.batcher(o) }, delayMs === undefined ? {} : { delayMs });
  },
};

export const publish: Command = {
  words: ['topic', 'publish'],
  usage: 'TOPIC [BODY] [options]',
  summary: 'publish a message, or one per line of stdin',
  help: sendHelp,
  options: sendOptions,
  args: [1, 2],
  run(ctx) {
    const t = ctx.client().topic(ctx.args[0]);
    return sendCommand(ctx, { one: (m) => t.publish(m as never, { signal: ctx.signal }), batcher: (o) => t.batcher(o) }, {});
  },
};
