import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { resolve as resolvePath, join } from 'node:path';
import { z } from 'zod';
import { parseHostPort } from './address.js';
import { ConfigError, ListenError } from './errors.js';

/** Secrets a development cluster may use; `production` refuses them, and so does a node
 *  listening beyond loopback unless `insecureDev` is set (docs/SECURITY.md). */
export const DEV_CLUSTER_TOKEN = 'dev-cluster-token-change-me';
export const DEV_JWT_SECRET = 'dev-jwt-secret-change-me-never-use-it-in-production';
/** RFC 7518 (3.2): an HS256 key must be at least as long as the hash output. */
export const MIN_JWT_SECRET_BYTES = 32;
const MIN_TOKEN_CHARS = 8;

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65535;
  }, 'port must be 0-65535');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/.*)?$/, 'must be an http(s) URL');
const nodeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be 1-63 letters, digits, - or _');
const cidr = z.string().refine(isCidr, 'must be an IPv4 or IPv6 CIDR such as 10.0.0.0/24 or an address');
const jwtSecret = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= MIN_JWT_SECRET_BYTES, `must be at least ${MIN_JWT_SECRET_BYTES} bytes`);

const peer = z.object({ id: nodeId, grpcAddress: hostPort, httpUrl }).strict();

/** Every setting, its type, its default and its one-line help: the one schema. The flag,
 *  environment variable and --help line of each field are derived from it. */
export const configSchema = z
  .object({
    nodeId: nodeId.default('n1').describe("this node's id; must be one of --peers"),
    clusterId: z.string().min(1).max(128).default('mom-local').describe('cluster name every peer must share'),
    clusterToken: z.string().min(MIN_TOKEN_CHARS, `must be at least ${MIN_TOKEN_CHARS} characters`).optional()
      .describe('shared secret of node-to-node calls (prefer --cluster-token-file); development default if unset'),
    clusterTokenFile: z.string().min(1).optional().describe('file holding the cluster token'),
    httpListen: hostPort.default('127.0.0.1:8001').describe('host:port of the REST API'),
    grpcListen: hostPort.default('127.0.0.1:9001').describe('host:port of node-to-node gRPC'),
    advertisedHttpUrl: httpUrl.optional().describe("URL clients are redirected to; default: this node's --peers entry, else http://<http-listen>"),
    peers: z.array(peer).min(1).optional().describe('every node, this one included; default: this node alone'),
    dataDir: z.string().min(1).optional().describe('where the Raft log and snapshots live; default data/<node-id>'),
    jwtSecret: jwtSecret.optional().describe(`HS256 key of user tokens, at least ${MIN_JWT_SECRET_BYTES} bytes (prefer --jwt-secret-file); development default if unset`),
    jwtSecretFile: z.string().min(1).optional().describe('file holding the JWT secret'),
    jwtTtlMs: z.number().int().positive().default(3_600_000).describe('lifetime of a login token'),
    leaderMode: z.enum(['redirect', 'forward']).default('redirect').describe('a follower answers writes with a 307 (redirect) or relays them (forward)'),
    production: z.boolean().default(false).describe('refuse to start without real secrets'),
    insecureDev: z.boolean().default(false).describe('allow the development secrets on a non-loopback listen address'),
    tls: z.object({
      cert: z.string().min(1).describe("PEM certificate of this node's gRPC server and client"),
      key: z.string().min(1).describe('PEM private key of --tls-cert'),
      ca: z.string().min(1).describe('PEM CA that signed every node certificate'),
    }).strict().optional().describe('mutual TLS between nodes (all three files or none)'),
    trustedProxies: z.array(cidr).default([]).describe('CIDRs of load balancers whose X-Forwarded-For names the client (comma-separated)'),
    maxConnections: z.number().int().min(1).default(4096).describe('open HTTP connections this node accepts at once'),
    metricsToken: z.string().min(16, 'must be at least 16 characters').optional().describe('bearer token that unlocks per-queue series on /metrics (prefer --metrics-token-file)'),
    metricsTokenFile: z.string().min(1).optional().describe('file holding the metrics token'),
    tickMs: z.number().int().min(1).max(10_000).default(50).describe('Raft tick length'),
    electionTicks: z.number().int().min(2).max(1000).default(6).describe('ticks without a leader before an election'),
    heartbeatTicks: z.number().int().min(1).max(1000).default(1).describe('ticks between leader heartbeats'),
    snapshotEvery: z.number().int().min(1).default(10_000).describe('applied entries between snapshots'),
    snapshotLogBytes: z.number().int().min(1).default(256 * 1024 * 1024)
      .describe('or this many bytes of entries applied since the last snapshot, however few entries (bounds what a restart replays)'),
    snapshotRetainEntries: z.number().int().min(0).default(5_000)
      .describe('entries kept below a snapshot, so a follower slightly behind catches up by appends'),
    snapshotLogPercent: z.number().int().min(0).max(100_000).default(100)
      .describe("a snapshot also waits for this % of the last snapshot's bytes in new log (0: count only)"),
    relocateAfterEntries: z.number().int().min(0).default(100_000)
      .describe("the leader copies a live message's body forward once it lies this many entries behind the applied index, so the log can drop the entries it pinned (0: never)"),
    relocateCheckMs: z.number().int().min(10).default(5_000).describe('how often the leader looks for bodies to relocate'),
    maxPendingProposals: z.number().int().min(1).default(10_000).describe('proposals waiting to commit before new writes get 503 (overloaded)'),
    maxPendingProposalBytes: z.number().int().min(1).default(64 * 1024 * 1024)
      .describe('command bytes waiting to commit before new writes get 503 (overloaded); bounds memory when writes outrun the disk'),
    minFreeDiskBytes: z.number().int().min(0).default(1024 * 1024 * 1024)
      .describe("free space on the data dir's disk below which the leader refuses sends and publishes with 507 (0: no check)"),
    idleTickMs: z.number().int().min(0).default(1000).describe('how often an idle leader proposes a clock tick'),
    leaderBusyPollUs: z.number().int().min(0).max(100_000).default(500)
      .describe('at light load (a few small writes waiting) the leader polls instead of sleeping for up to this long after each proposal: lower latency for CPU (0: never)'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('log level'),
    limits: z.record(z.string().regex(/^[A-Za-z]+$/, 'must be a limit name'), z.number().int().min(1)).default({})
      .describe("per-user quotas over the broker's defaults (docs/SECURITY.md, Per-user limits); the leader's values are enforced"),
  })
  .strict();

type ParsedConfig = z.output<typeof configSchema>;

export type PeerConfig = z.output<typeof peer>;

/** Fields that only say where a secret comes from; the resolved config holds the secret. */
type SecretSource = 'clusterTokenFile' | 'jwtSecretFile' | 'metricsTokenFile';

/** The resolved configuration a node runs with (secrets read from their files). */
export type NodeConfig = Omit<ParsedConfig, SecretSource | 'clusterToken' | 'jwtSecret' | 'advertisedHttpUrl' | 'peers' | 'dataDir'> & {
  clusterToken: string;
  jwtSecret: string;
  advertisedHttpUrl: string;
  /** Every node of the cluster, this one included. */
  peers: PeerConfig[];
  dataDir: string;
};

type Kind = 'string' | 'int' | 'bool' | 'peers' | 'list' | 'limits';
const VALUE_HINT: Record<Kind, string> = { string: ' <string>', int: ' <int>', bool: '', peers: ' <peers>', list: ' <list>', limits: ' <limits>' };
interface FieldInfo {
  kind: Kind;
  /** The schema under the optional/default layers (an object for nested fields). */
  inner: z.ZodType;
  /** The value placeholder in --help (the choices of an enum). */
  hint: string;
  description: string;
  defaultValue: unknown;
}

/** Unwraps optional/default layers, keeping the outermost description and default. */
function fieldInfo(schema: z.ZodType): FieldInfo {
  const description = schema.description ?? '';
  let defaultValue: unknown;
  let inner: z.ZodType = schema;
  for (;;) {
    const def = (inner as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; defaultValue?: unknown; element?: z.ZodType } } })._zod.def;
    if (def.type === 'default') defaultValue = def.defaultValue;
    if ((def.type === 'default' || def.type === 'optional') && def.innerType) {
      inner = def.innerType;
      continue;
    }
    const entries = (def as { entries?: Record<string, string> }).entries;
    const kind: Kind =
      def.type === 'number' ? 'int'
      : def.type === 'boolean' ? 'bool'
      : def.type === 'array' ? ((def.element as unknown as { _zod: { def: { type: string } } })._zod.def.type === 'object' ? 'peers' : 'list')
      : def.type === 'record' ? 'limits'
      : 'string';
    const hint = def.type === 'enum' && entries ? ` <${Object.values(entries).join('|')}>` : VALUE_HINT[kind];
    return { kind, inner, hint, description, defaultValue };
  }
}

/** Field name (`tls.cert` for nested ones) -> how it is parsed and documented. */
const FIELDS: Record<string, FieldInfo> = (() => {
  const out: Record<string, FieldInfo> = {};
  for (const [name, schema] of Object.entries(configSchema.shape)) {
    const info = fieldInfo(schema as z.ZodType);
    if (info.inner instanceof z.ZodObject) {
      for (const [sub, subSchema] of Object.entries(info.inner.shape)) out[`${name}.${sub}`] = fieldInfo(subSchema as z.ZodType);
    } else {
      out[name] = info;
    }
  }
  return out;
})();

const flagName = (field: string) => '--' + field.replace('.', '-').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const envName = (field: string) => 'MOM_' + field.replace('.', '_').replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();


function shownDefault(info: FieldInfo): string {
  if (info.defaultValue === undefined) return '';
  if (Array.isArray(info.defaultValue)) return info.defaultValue.length === 0 ? ' [default: none]' : ` [default: ${info.defaultValue.join(',')}]`;
  if (typeof info.defaultValue === 'object' && info.defaultValue !== null) {
    const entries = Object.entries(info.defaultValue);
    return entries.length === 0 ? ' [default: none]' : ` [default: ${entries.map(([k, v]) => `${k}=${String(v)}`).join(',')}]`;
  }
  return ` [default: ${String(info.defaultValue)}]`;
}

export const CONFIG_USAGE = [
  'Usage: node dist/main.js [--config file.json] [flags]',
  'Each flag is also settable as the environment variable in parentheses, or as a field of the --config JSON file',
  '(precedence: defaults < file < environment < flags).',
  '',
  ...Object.entries(FIELDS).map(([f, info]) => `  ${(flagName(f) + info.hint).padEnd(34)} ${info.description}${shownDefault(info)} (${envName(f)})`),
  '',
  '  <peers> is id@grpcHost:port@httpUrl,... (or a JSON array of {id, grpcAddress, httpUrl}); <list> is comma-separated.',
  '  <limits> is name=value,... e.g. queuesPerUser=100,messagesPerQueue=50000 (or a JSON object).',
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
    case 'list':
      return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'limits':
      return parseLimitFlags(text);
  }
}

/** Parses `--limits queuesPerUser=100,messagesPerQueue=50000` (or a JSON object). */
export function parseLimitFlags(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) return JSON.parse(t);
  const out: Record<string, unknown> = {};
  for (const item of t.split(',')) {
    if (item.trim() === '') continue;
    const [name, value, ...rest] = item.split('=').map((x) => x.trim());
    if (value === undefined || rest.length > 0) throw new Error(`limit "${item}" is not name=value`);
    out[name] = coerce('int', value);
  }
  return out;
}

function setField(raw: Record<string, unknown>, field: string, value: unknown): void {
  const dot = field.indexOf('.');
  if (dot > 0) {
    const top = field.slice(0, dot);
    const nested = (raw[top] ?? {}) as Record<string, unknown>;
    nested[field.slice(dot + 1)] = value;
    raw[top] = nested;
  } else {
    raw[field] = value;
  }
}

/** `a.b.c.d/n`, `x:y::z/n` or a bare address (a /32 or /128). */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = text.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Whether a listen host is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}

const sameUrl = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** A node's own --peers entry is what every other node dials and redirects to: it must
 *  describe this node's listen ports and advertised URL, or the cluster is miswired. */
function selfEntryProblems(self: PeerConfig, c: ParsedConfig, advertisedHttpUrl: string): string[] {
  const problems: string[] = [];
  const grpcPort = parseHostPort(c.grpcListen).port;
  if (grpcPort !== 0 && parseHostPort(self.grpcAddress).port !== grpcPort) {
    problems.push(`peers: this node's entry ${self.id} has gRPC address ${self.grpcAddress}, but grpcListen is ${c.grpcListen} (the ports differ)`);
  }
  if (c.advertisedHttpUrl !== undefined && !sameUrl(self.httpUrl, c.advertisedHttpUrl)) {
    problems.push(`peers: this node's entry ${self.id} has HTTP URL ${self.httpUrl}, but advertisedHttpUrl is ${c.advertisedHttpUrl}`);
  }
  // A URL without a port names a front (a proxy on 80/443); one with a port names us.
  const httpPort = parseHostPort(c.httpListen).port;
  const advertisedPort = new URL(advertisedHttpUrl).port;
  if (httpPort !== 0 && advertisedPort !== '' && Number(advertisedPort) !== httpPort) {
    problems.push(`advertised HTTP URL ${advertisedHttpUrl} (from this node's peers entry or advertisedHttpUrl) does not use httpListen's port ${httpPort}`);
  }
  return problems;
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
      if (field && FIELDS[field].kind === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
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
  for (const [field, info] of Object.entries(FIELDS)) {
    const name = envName(field);
    const text = env[name];
    if (text === undefined || text === '') continue;
    try {
      setField(raw, field, coerce(info.kind, text));
      origin.set(field.split('.')[0], `env ${name}`);
    } catch (err) {
      problems.push(`env ${name}: ${(err as Error).message}`);
    }
  }
  for (const [field, text] of flags) {
    try {
      setField(raw, field, coerce(FIELDS[field].kind, text));
      origin.set(field.split('.')[0], `flag ${flagName(field)}`);
    } catch (err) {
      problems.push(`flag ${flagName(field)}: ${(err as Error).message}`);
    }
  }

  const secretFields = new Set(['clusterToken', 'jwtSecret', 'metricsToken']);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? '');
      const where = origin.get(top) ?? 'defaults';
      const path = issue.path.join('.') || '(root)';
      const got = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), raw);
      const shown = got === undefined || secretFields.has(top) ? '' : ` (got ${JSON.stringify(got)})`;
      problems.push(`${path}: ${issue.message}${shown} [from ${where}]`);
    }
    throw new ConfigError(problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const c = parsed.data;

  const readSecretFile = (file: string, field: string, minBytes: number): string => {
    try {
      const s = readFileSync(file, 'utf8').trim();
      if (Buffer.byteLength(s) < minBytes) problems.push(`${field}File ${file}: the secret must be at least ${minBytes} bytes`);
      return s;
    } catch (err) {
      problems.push(`${field}File ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return '';
    }
  };
  const readSecret = (value: string | undefined, file: string | undefined, field: string, minBytes: number): string | undefined => {
    if (value !== undefined && file !== undefined) problems.push(`${field} and ${field}File are both set; use one`);
    if (file !== undefined) return readSecretFile(file, field, minBytes);
    return value;
  };
  const devDefault = (value: string | undefined, field: string, fallback: string): string => {
    if (value !== undefined) return value;
    if (c.production) problems.push(`${field} (or ${field}File) is required in production; the development default is refused`);
    return fallback;
  };
  const clusterToken = devDefault(readSecret(c.clusterToken, c.clusterTokenFile, 'clusterToken', MIN_TOKEN_CHARS), 'clusterToken', DEV_CLUSTER_TOKEN);
  const jwtSecret = devDefault(readSecret(c.jwtSecret, c.jwtSecretFile, 'jwtSecret', MIN_JWT_SECRET_BYTES), 'jwtSecret', DEV_JWT_SECRET);
  const metricsToken = readSecret(c.metricsToken, c.metricsTokenFile, 'metricsToken', 16);
  const devSecrets = clusterToken === DEV_CLUSTER_TOKEN || jwtSecret === DEV_JWT_SECRET;
  if (c.production && devSecrets) problems.push('production refuses the development default secrets');
  const exposed = [c.httpListen, c.grpcListen].filter((a) => !isLoopbackHost(parseHostPort(a).host));
  if (devSecrets && exposed.length > 0 && !c.insecureDev) {
    problems.push(
      `refusing the development secrets on the non-loopback address ${exposed.join(' and ')}: anyone who can reach it could mint tokens ` +
        'or join the cluster. Set clusterTokenFile and jwtSecretFile, listen on 127.0.0.1, or pass --insecure-dev',
    );
  }

  const ownDefaultUrl = `http://${c.httpListen}`;
  const peers = c.peers ?? [{ id: c.nodeId, grpcAddress: c.grpcListen, httpUrl: c.advertisedHttpUrl ?? ownDefaultUrl }];
  const self = peers.find((p) => p.id === c.nodeId);
  const advertisedHttpUrl = c.advertisedHttpUrl ?? self?.httpUrl ?? ownDefaultUrl;
  const ids = peers.map((p) => p.id);
  if (!self) problems.push(`unknown peer: nodeId ${c.nodeId} is not one of the peers (${ids.join(', ')})`);
  else problems.push(...selfEntryProblems(self, c, advertisedHttpUrl));
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
  const { clusterTokenFile: _ct, jwtSecretFile: _jf, metricsTokenFile: _mf, metricsToken: _m, tls, ...rest } = c;
  return {
    ...rest,
    clusterToken,
    jwtSecret,
    ...(metricsToken !== undefined ? { metricsToken } : {}),
    ...(tls ? { tls } : {}),
    advertisedHttpUrl,
    peers,
    dataDir,
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
    const { host, port } = parseHostPort(addr);
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
