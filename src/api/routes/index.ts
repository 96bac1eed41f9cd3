// Every route of the API, in one list: the app serves it and GET /openapi.json describes
// it (docs/API.md is the prose version; test/api/docs.test.ts keeps the three in step).
import type { ApiDeps } from '../deps.js';
import { openApiDocument } from '../openapi.js';
import type { RouteSpec } from '../route.js';
import { healthRoutes, type MetricsSources } from './health.js';
import { queueRoutes } from './queues.js';
import { topicRoutes } from './topics.js';
import { userRoutes } from './users.js';

export function apiRoutes(deps: ApiDeps, metrics: MetricsSources): RouteSpec[] {
  const routes: RouteSpec[] = [];
  routes.push(
    ...healthRoutes(deps, metrics, () => openApiDocument(routes)),
    ...userRoutes(deps),
    ...queueRoutes(deps),
    ...topicRoutes(deps),
  );
  return routes;
}
