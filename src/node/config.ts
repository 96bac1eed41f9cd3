import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve as resolvePath, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, ListenError } from './errors.js';

/** Secrets a development cluster may use; `production` refuses them. */
export const DEV_CLUSTER_TOKEN = 'dev-cluster-token-change-me';
export const DEV_JWT_SECRET = 'dev-jwt-secret-change-me';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65535;
  }, 'port must be 0-65535');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/.*)?$/, 'must be an http(s) URL');
const nodeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be 1-63 letters, digits, - or _');

const peer = z.object({ id: nodeId, grpcAddress: hostPort, httpUrl }).strict();

/** Every setting, its type and its default: the one schema. */
export const configSchema = z
  .object({
    nodeId: nodeId.default('n1'),
    clusterId: z.string().min(1).max(128).default('mom-local'),
    clusterToken: z.string().min(8, 'must be at least 8 characters').optional(),
    clusterTokenFile: z.string().min(1).optional(),
    httpListen: hostPort.default('127.0.0.1:8001'),
    grpcListen: hostPort.default('127.0.0.1:9001'),
    advertisedHttpUrl: httpUrl.optional(),
    peers: z.array(peer).min(1).optional(),
    dataDir: z.string().min(1).optional(),
    jwtSecret: z.string().min(8, 'must be at least 8 characters').optional(),
    jwtSecretFile: z.string().min(1).optional(),
    jwtTtlMs: z.number().int().positive().default(3_600_000),
    leaderMode: z.enum(['redirect', 'forward']).default('redirect'),
    production: z.boolean().default(false),
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1) }).strict().optional(),
    tickMs: z.number().int().min(1).max(10_000).default(50),
    electionTicks: z.number().int().min(2).max(1000).default(6),
    heartbeatTicks: z.number().int().min(1).max(1000).default(1),
    snapshotEvery: z.number().int().min(1).default(10_000),
    snapshotRetainEntries: z.number().int().min(0).default(5_000),
    snapshotLogPercent: z.number().int().min(0).max(100_000).default(100),
    maxPendingProposals: z.number().int().min(1).default(10_000),
    idleTickMs: z.number().int().min(0).default(1000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export interface PeerConfig {
  id: string;
  grpcAddress: string;
  httpUrl: string;
}

/** The resolved configuration a node runs with (secrets read from their files). */
export interface NodeConfig {
  nodeId: string;
  clusterId: string;
  clusterToken: string;
  httpListen: string;
  grpcListen: string;
  advertisedHttpUrl: string;
  /** Every node of the cluster, this one included. */
  peers: PeerConfig[];
  dataDir: string;
  jwtSecret: string;
  jwtTtlMs: number;
  leaderMode: 'redirect' | 'forward';
  production: boolean;
  tls?: { cert: string; key: string; ca: string };
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotEvery: number;
  /** Entries kept below each snapshot the node takes, so that a follower slightly
   *  behind catches up by appends instead of a whole InstallSnapshot. */
  snapshotRetainEntries: number;
  /** A snapshot also waits until the log applied since the last one holds at least this
   *  percentage of that snapshot's bytes (0: by entry count alone). Without it, a large
   *  state would be rewritten whole every `snapshotEvery` small entries. */
  snapshotLogPercent: number;
  maxPendingProposals: number;
  idleTickMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

type Kind = 'string' | 'int' | 'bool' | 'peers';
const FIELDS: Record<string, Kind> = {
  nodeId: 'string',
  clusterId: 'string',
  clusterToken: 'string',
  clusterTokenFile: 'string',
  httpListen: 'string',
  grpcListen: 'string',
  advertisedHttpUrl: 'string',
  peers: 'peers',
  dataDir: 'string',
  jwtSecret: 'string',
  jwtSecretFile: 'string',
  jwtTtlMs: 'int',
  leaderMode: 'string',
  production: 'bool',
  'tls.cert': 'string',
  'tls.key': 'string',
  'tls.ca': 'string',
  tickMs: 'int',
  electionTicks: 'int',
  heartbeatTicks: 'int',
  snapshotEvery: 'int',
  snapshotRetainEntries: 'int',
  snapshotLogPercent: 'int',
  maxPendingProposals: 'int',
  idleTickMs: 'int',
  logLevel: 'string',
};

const flagName = (field: string) => '--' + field.replace('.', '-').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const envName = (field: string) => 'MOM_' + field.replace('.', '_').replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

export const CONFIG_USAGE = [
  'Flags (each also settable as MOM_<NAME> in the environment, or in --config file.json):',
  ...Object.entries(FIELDS).map(([f, k]) => `  ${flagName(f)}${k === 'bool' ? '' : ' <' + k + '>'}   (env ${envName(f)})`),
  '  --peers takes id@grpcHost:port@httpUrl,... (or a JSON array of {id, grpcAddress, httpUrl})',
].join('\n');

/** Parses `--peers n1@127.0.0.1:9001@http://127.0.0.1:8001,n2@...` (or a JSON array). */
export function parsePeers(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('[')) return JSON.parse(t);
  return t
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((item) => {
      const [id, grpcAddress, ...rest] = item.trim().split('@');
      if (rest.length === 0) throw new Error(`peer "${item}" is not id@grpcHost:port@httpUrl`);
      return { id, grpcAddress, httpUrl: rest.join('@') };
    });
}

export function formatPeers(peers: PeerConfig[]): string {
  return peers.map((p) => `${p.id}@${p.grpcAddress}@${p.httpUrl}`).join(',');
}

function coerce(kind: Kind, text: string): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'int':
      return /^-?\d+$/.test(text.trim()) ? Number(text) : text; // zod names the bad value
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      return text;
    case 'peers':
      return parsePeers(text);
  }
}

function setField(raw: Record<string, unknown>, field: string, value: unknown): void {
  if (field.startsWith('tls.')) {
    const tls = (raw.tls ?? {}) as Record<string, unknown>;
    tls[field.slice(4)] = value;
    raw.tls = tls;
  } else {
    raw[field] = value;
  }
}

/**
 * The configuration from (lowest to highest precedence) defaults, `--config
 * file.json`, `MOM_*` environment variables and flags. Throws ConfigError listing
 * every bad value with where it came from. Creates the data dir and checks that it
 * is writable; see checkListenAddresses for the ports.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv | Record<string, string | undefined> = {}): NodeConfig {
  const problems: string[] = [];
  const origin = new Map<string, string>(); // top-level field -> where its value came from
  const raw: Record<string, unknown> = {};

  // Flags first (parsed, applied last), so --config is known.
  const flags: [string, string][] = [];
  let configFile = env.MOM_CONFIG;
  const byFlag = new Map(Object.keys(FIELDS).map((f) => [flagName(f), f]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const field = byFlag.get(name);
    if (name !== '--config' && !field) {
      problems.push(`unknown flag ${name}`);
      continue;
    }
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      if (field && FIELDS[field] === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else {
        problems.push(`flag ${name} needs a value`);
        continue;
      }
    }
    if (name === '--config') configFile = value;
    else flags.push([field!, value]);
  }

  if (configFile) {
    try {
      const fileValues = JSON.parse(readFileSync(configFile, 'utf8')) as unknown;
      if (!fileValues || typeof fileValues !== 'object' || Array.isArray(fileValues)) throw new Error('it is not a JSON object');
      for (const [k, v] of Object.entries(fileValues)) {
        raw[k] = v;
        origin.set(k, `config file ${configFile}`);
      }
    } catch (err) {
      problems.push(`config file ${configFile}: ${(err as Error).message}`);
    }
  }
  for (const [field, kind] of Object.entries(FIELDS)) {
    const name = envName(field);
    const text = env[name];
    if (text === undefined || text === '') continue;
    try {
      setField(raw, field, coerce(kind, text));
      origin.set(field.split('.')[0], `env ${name}`);
    } catch (err) {
      problems.push(`env ${name}: ${(err as Error).message}`);
    }
  }
  for (const [field, text] of flags) {
    try {
      setField(raw, field, coerce(FIELDS[field], text));
      origin.set(field.split('.')[0], `flag ${flagName(field)}`);
    } catch (err) {
      problems.push(`flag ${flagName(field)}: ${(err as Error).message}`);
    }
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? '');
      const where = origin.get(top) ?? 'defaults';
      const path = issue.path.join('.') || '(root)';
      const got = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), raw);
      const shown = got === undefined || top === 'clusterToken' || top === 'jwtSecret' ? '' : ` (got ${JSON.stringify(got)})`;
      problems.push(`${path}: ${issue.message}${shown} [from ${where}]`);
    }
    throw new ConfigError(problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const c = parsed.data;

  const readSecret = (value: string | undefined, file: string | undefined, field: string, devDefault: string): string => {
    if (value !== undefined && file !== undefined) problems.push(`${field} and ${field}File are both set; use one`);
    if (file !== undefined) {
      try {
        const s = readFileSync(file, 'utf8').trim();
        if (s.length < 8) problems.push(`${field}File ${file}: the secret must be at least 8 characters`);
        return s;
      } catch (err) {
        problems.push(`${field}File ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        return '';
      }
    }
    if (value !== undefined) return value;
    if (c.production) problems.push(`${field} (or ${field}File) is required in production; the development default is refused`);
    return devDefault;
  };
  const clusterToken = readSecret(c.clusterToken, c.clusterTokenFile, 'clusterToken', DEV_CLUSTER_TOKEN);
  const jwtSecret = readSecret(c.jwtSecret, c.jwtSecretFile, 'jwtSecret', DEV_JWT_SECRET);
  if (c.production && (clusterToken === DEV_CLUSTER_TOKEN || jwtSecret === DEV_JWT_SECRET)) {
    problems.push('production refuses the development default secrets');
  }

  const advertisedHttpUrl = c.advertisedHttpUrl ?? `http://${c.httpListen}`;
  const peers = c.peers ?? [{ id: c.nodeId, grpcAddress: c.grpcListen, httpUrl: advertisedHttpUrl }];
  const ids = peers.map((p) => p.id);
  if (!ids.includes(c.nodeId)) problems.push(`unknown peer: nodeId ${c.nodeId} is not one of the peers (${ids.join(', ')})`);
  for (const dup of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`peers: node id ${dup} appears twice`);
  const addrs = peers.map((p) => p.grpcAddress);
  for (const dup of new Set(addrs.filter((a, i) => addrs.indexOf(a) !== i))) problems.push(`peers: gRPC address ${dup} appears twice`);
  if (c.heartbeatTicks >= c.electionTicks) {
    problems.push(`heartbeatTicks (${c.heartbeatTicks}) must be below electionTicks (${c.electionTicks})`);
  }
  if (c.tls) {
    for (const [k, path] of Object.entries(c.tls)) {
      try {
        accessSync(path, constants.R_OK);
      } catch {
        problems.push(`tls.${k}: cannot read ${path}`);
      }
    }
  }

  const dataDir = resolvePath(c.dataDir ?? join('data', c.nodeId));
  const dirProblem = checkWritableDir(dataDir);
  if (dirProblem) problems.push(`dataDir ${dataDir}: ${dirProblem}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeId: c.nodeId,
    clusterId: c.clusterId,
    clusterToken,
    httpListen: c.httpListen,
    grpcListen: c.grpcListen,
    advertisedHttpUrl,
    peers,
    dataDir,
    jwtSecret,
    jwtTtlMs: c.jwtTtlMs,
    leaderMode: c.leaderMode,
    production: c.production,
    ...(c.tls ? { tls: c.tls } : {}),
    tickMs: c.tickMs,
    electionTicks: c.electionTicks,
    heartbeatTicks: c.heartbeatTicks,
    snapshotEvery: c.snapshotEvery,
    snapshotRetainEntries: c.snapshotRetainEntries,
    snapshotLogPercent: c.snapshotLogPercent,
    maxPendingProposals: c.maxPendingProposals,
    idleTickMs: c.idleTickMs,
    logLevel: c.logLevel,
  };
}

function checkWritableDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-probe-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `not writable (${e.code ?? e.message})`;
  }
}

/** Fails with a clear ListenError when the HTTP or gRPC listen address is taken. */
export async function checkListenAddresses(config: Pick<NodeConfig, 'httpListen' | 'grpcListen'>): Promise<void> {
  for (const [what, addr] of [
    ['HTTP', config.httpListen],
    ['gRPC', config.grpcListen],
  ] as const) {
    const i = addr.lastIndexOf(':');
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(addr.slice(i + 1));
    if (port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new ListenError(
            err.code === 'EADDRINUSE'
              ? `${what} listen address ${addr} is already in use (is another node running?)`
              : `cannot listen for ${what} on ${addr}: ${err.code ?? err.message}`,
            { cause: err },
          ),
        );
      });
      srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
    });
  }
}
