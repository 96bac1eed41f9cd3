// mom grant queue|topic NAME USER PERMS and mom revoke queue|topic NAME USER.
import { UsageError } from '../exit-codes.js';
import type { Command, Context } from '../command.js';
import type { QueuePermission, TopicPermission } from '../../client/index.js';

const PERMS = { queue: ['send', 'receive'], topic: ['publish', 'subscribe'] } as const;

function kind(ctx: Context): 'queue' | 'topic' {
  const k = ctx.args[0];
  if (k !== 'queue' && k !== 'topic') throw new UsageError(`expected "queue" or "topic", got ${JSON.stringify(k)}`);
  return k;
}

export const grant: Command = {
  words: ['grant'],
  usage: 'queue|topic NAME USER PERMISSIONS',
  summary: 'allow a user (owner): queue perms send,receive; topic perms publish,subscribe',
  help: '  PERMISSIONS is a comma-separated list; it replaces the user\'s earlier grant.',
  args: [4, 4],
  async run(ctx) {
    const k = kind(ctx);
    const [, name, user, list] = ctx.args;
    const perms = list.split(',').map((p) => p.trim()).filter((p) => p !== '');
    const bad = perms.filter((p) => !(PERMS[k] as readonly string[]).includes(p));
    if (bad.length > 0) throw new UsageError(`unknown ${k} permission ${bad.join(', ')} (expected ${PERMS[k].join(', ')})`);
    const out = k === 'queue'
      ? await ctx.client().queue(name).grant(user, perms as QueuePermission[])
      : await ctx.client().topic(name).grant(user, perms as TopicPermission[]);
    ctx.out.result(out, () => `${user} may now ${out.permissions.join(', ') || 'nothing'} on ${k} ${name}`);
  },
};

export const revoke: Command = {
  words: ['revoke'],
  usage: 'queue|topic NAME USER',
  summary: "remove a user's grant (owner)",
  args: [3, 3],
  async run(ctx) {
    const k = kind(ctx);
    const [, name, user] = ctx.args;
    if (k === 'queue') await ctx.client().queue(name).revoke(user);
    else await ctx.client().topic(name).revoke(user);
    ctx.out.result({ revoked: { [k]: name, username: user } }, () => `revoked ${user} on ${k} ${name}`);
  },
};
