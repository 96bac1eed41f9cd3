// mom register, mom login (saves the token and URLs, 0600), mom logout.
import { readPassword } from '../prompt.js';
import { configPath, removeConfig, saveConfig } from '../config.js';
import type { Command, Context } from '../command.js';

const passwordOptions = {
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
} as const;

const passwordHelp = `  --password-stdin   read the password from the first line of stdin
  --password PW      the password on the command line (visible to other users: avoid)
  Without either: MOM_PASSWORD, else a prompt on the terminal.`;

async function password(ctx: Context): Promise<string> {
  return readPassword(ctx.out.io, ctx.env, {
    fromStdin: ctx.values['password-stdin'] === true,
    given: typeof ctx.values.password === 'string' ? ctx.values.password : undefined,
  });
}

export const register: Command = {
  words: ['register'],
  usage: 'USERNAME [--password-stdin]',
  summary: 'create a user',
  help: passwordHelp,
  options: passwordOptions,
  args: [1, 1],
  auth: false,
  async run(ctx) {
    const out = await ctx.client().register(ctx.args[0], await password(ctx));
    ctx.out.result(out, () => `registered ${out.username}`);
  },
};

export const login: Command = {
  words: ['login'],
  usage: 'USERNAME [--password-stdin]',
  summary: 'log in; the token is saved in the config dir (mode 0600)',
  help: passwordHelp,
  options: passwordOptions,
  args: [1, 1],
  auth: false,
  async run(ctx) {
    const username = ctx.args[0];
    const out = await ctx.client().login(username, await password(ctx));
    const path = saveConfig(ctx.env, { urls: ctx.urls, username, token: out.token, expiresAt: out.expiresAt });
    ctx.out.result({ username, expiresAt: out.expiresAt, config: path }, () => `logged in as ${username} until ${out.expiresAt} (token saved in ${path})`);
  },
};

export const logout: Command = {
  words: ['logout'],
  usage: '',
  summary: 'forget the saved token',
  args: [0, 0],
  auth: false,
  async run(ctx) {
    removeConfig(ctx.env);
    ctx.out.result({ removed: configPath(ctx.env) }, () => `removed ${configPath(ctx.env)}`);
  },
};
