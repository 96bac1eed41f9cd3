// Finds the route of a request: the route table compiled once into lists keyed by
// method and segment count, so a lookup compares a few literal segments and decodes the
// `:name` ones. Matching follows what the API has always accepted: one trailing slash
// is ignored, literal segments match regardless of case, a GET route answers HEAD, and
// a parameter that is not valid percent-encoding is taken as written.
import type { RouteSpec } from './route.js';

interface CompiledRoute {
  spec: RouteSpec;
  /** Per segment: the literal text (lower case), or null for a parameter. */
  literals: (string | null)[];
  /** Parameter names, in segment order. */
  names: string[];
}

export interface RouteMatch {
  spec: RouteSpec;
  params: Record<string, string>;
}

function decodeParam(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export class Router {
  private readonly byKey = new Map<string, CompiledRoute[]>();

  constructor(routes: readonly RouteSpec[]) {
    for (const spec of routes) {
      const segments = spec.path.split('/');
      const compiled: CompiledRoute = {
        spec,
        literals: segments.map((s) => (s.startsWith(':') ? null : s.toLowerCase())),
        names: segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1)),
      };
      for (const method of spec.method === 'GET' ? ['GET', 'HEAD'] : [spec.method]) {
        const key = `${method} ${segments.length}`;
        const list = this.byKey.get(key) ?? [];
        list.push(compiled);
        this.byKey.set(key, list);
      }
    }
  }

  /** The route for `method` and `path` (no query string), or undefined (404). */
  match(method: string, path: string): RouteMatch | undefined {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const segments = trimmed.split('/');
    const candidates = this.byKey.get(`${method} ${segments.length}`);
    if (candidates === undefined) return undefined;
    for (const route of candidates) {
      if (!literalsMatch(route.literals, segments)) continue;
      const params: Record<string, string> = {};
      let p = 0;
      for (let i = 0; i < segments.length; i++) {
        if (route.literals[i] !== null) continue;
        if (segments[i] === '') break; // an empty parameter matches nothing
        params[route.names[p++]] = decodeParam(segments[i]);
      }
      if (p === route.names.length) return { spec: route.spec, params };
    }
    return undefined;
  }
}

function literalsMatch(literals: readonly (string | null)[], segments: readonly string[]): boolean {
  for (let i = 0; i < literals.length; i++) {
    const literal = literals[i];
    if (literal === null) continue;
    const segment = segments[i];
    if (segment !== literal && segment.toLowerCase() !== literal) return false;
  }
  return true;
}
