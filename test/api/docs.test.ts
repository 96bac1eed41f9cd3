// docs/API.md and GET /openapi.json describe the same routes as the router serves: a
// route added to the router without both is a failing test.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import type { ApiDeps } from '../../src/api/deps.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { apiRoutes } from '../../src/api/routes/index.js';

// The route table is data; building it calls no dependency (handlers are never run here).
const routes = apiRoutes({} as ApiDeps, { registry: new Registry(), perQueue: new Registry() });
const served = routes.map((r) => `${r.method} ${r.path}`).sort();

/** `METHOD /path` of every table row of docs/API.md (its first cell). */
function documentedRoutes(): string[] {
  const markdown = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');
  const found: string[] = [];
  for (const line of markdown.split('\n')) {
    const cell = /^\| `((?:GET|POST|PUT|DELETE) \/[^`]*)` \|/.exec(line);
    if (cell) found.push(cell[1]);
  }
  return found.sort();
}

describe('the API reference is complete', () => {
  test('every route of the router is in docs/API.md, and nothing else is', () => {
    expect(documentedRoutes()).toEqual(served);
  });

  test('every route of the router is in GET /openapi.json, and nothing else is', () => {
    const doc = openApiDocument(routes) as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`))
      .sort();
    expect(described).toEqual(served);
  });
});
