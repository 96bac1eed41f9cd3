// Finds the route of a request. @koa/router holds the route table and decides every
// match (its rules as always: one trailing slash ignored, any case, HEAD for GET,
// percent-decoded parameters). Its match() tries the pattern of every route, ~4-7 µs
// per request here for 33 routes, so each (method, path) it decided is remembered:
// a client sends to the same few queues over and over.
import KoaRouter from '@koa/router';
import type { RouteSpec } from './route.js';

export interface RouteMatch {
  spec: RouteSpec;
  /** Decoded path parameters; shared by the requests of one path, so never changed. */
  params: Readonly<Record<string, string>>;
}

type Layer = ReturnType<KoaRouter['register']> & {
  path: string;
  methods: string[];
  captures(path: string): string[];
  params(path: string, captures: string[]): Record<string, string>;
};

/** Paths remembered at most; past that the memory starts over (names are unbounded). */
const REMEMBERED_PATHS = 4096;
/** Longer paths are decided every time (they cannot be a route's: names are short). */
const REMEMBERED_PATH_LENGTH = 512;

export class Router {
  private readonly table = new KoaRouter();
  private readonly specOf = new Map<Layer, RouteSpec>();
  private readonly decided = new Map<string, RouteMatch | null>();

  constructor(routes: readonly RouteSpec[]) {
    for (const spec of routes) {
      const layer = this.table.register(spec.path, [spec.method], () => undefined) as Layer;
      this.specOf.set(layer, spec);
    }
  }

  /** The route for `method` and `path` (no query string), or undefined (404). */
  match(method: string, path: string): RouteMatch | undefined {
    if (path.length > REMEMBERED_PATH_LENGTH) return this.lookUp(method, path) ?? undefined;
    const key = `${method} ${path}`;
    let found = this.decided.get(key);
    if (found === undefined) {
      found = this.lookUp(method, path);
      if (this.decided.size >= REMEMBERED_PATHS) this.decided.clear();
      this.decided.set(key, found);
    }
    return found ?? undefined;
  }

  private lookUp(method: string, path: string): RouteMatch | null {
    // The first layer for the path and method serves it, as in @koa/router's own dispatch.
    const layer = this.table.match(path, method).pathAndMethod.find((l) => (l as Layer).methods.length > 0) as Layer | undefined;
    if (layer === undefined) return null;
    const spec = this.specOf.get(layer);
    if (spec === undefined) return null;
    return { spec, params: Object.freeze(layer.params(path, layer.captures(path))) };
  }
}
