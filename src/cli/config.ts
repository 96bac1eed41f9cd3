// The CLI's saved login: $XDG_CONFIG_HOME/mom/config.json (or ~/.config/mom/config.json),
// readable by its owner only (0600 in a 0700 directory): it holds a bearer token.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface SavedConfig {
  urls?: string[];
  username?: string;
  token?: string;
  expiresAt?: string;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'mom');
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'config.json');
}

export function loadConfig(env: NodeJS.ProcessEnv): SavedConfig {
  try {
    return JSON.parse(readFileSync(configPath(env), 'utf8')) as SavedConfig;
  } catch {
    return {};
  }
}

export function saveConfig(env: NodeJS.ProcessEnv, config: SavedConfig): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = configPath(env);
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already existed.
  chmodSync(path, 0o600);
  return path;
}

export function removeConfig(env: NodeJS.ProcessEnv): void {
  rmSync(configPath(env), { force: true });
}
