// docs/API.md and GET /openapi.json describe the same routes as the router serves: a
// route added to the router without both is a failing test.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import type { ApiDeps } from '../../src/api/deps.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { producerOf } from '../../src/api/producer.js';
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

  test('the send and publish routes describe the X-Mom-Producer header, and its pattern takes what the route takes', () => {
    const doc = openApiDocument(routes) as { paths: Record<string, Record<string, { parameters: Array<{ name: string; schema: { pattern?: string } }> }>> };
    const producerParams = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) => op.parameters.filter((p) => p.name === 'X-Mom-Producer').map((p) => ({ at: `${method.toUpperCase()} ${path}`, pattern: p.schema.pattern }))));
    expect(producerParams.map((p) => p.at).sort()).toEqual(['POST /v1/queues/{name}/messages', 'POST /v1/topics/{name}/messages']);
    const pattern = new RegExp(producerParams[0].pattern!);
    for (const ok of ['p-1 0', 'p_1 7:3', 'P 1:2,5:1,9:100']) {
      expect(pattern.test(ok)).toBe(true);
      expect(() => producerOf(ok, ok.includes(':') ? ok.split(',').reduce((n, f) => n + Number(f.split(':')[1]), 0) : 1)).not.toThrow();
    }
    for (const bad of ['p 01', 'p -1', 'bad id 1', 'p 1,2', 'p 1:0', `${'x'.repeat(65)} 1`]) {
      expect(pattern.test(bad)).toBe(false);
      expect(() => producerOf(bad, 3)).toThrow();
    }
  });
});
