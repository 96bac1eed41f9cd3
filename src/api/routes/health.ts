// Health, readiness, metrics, cluster status and the OpenAPI document: served by the
// node that is asked, without auth.
import type { Registry } from 'prom-client';
import { matchesSecret, secretDigest } from '../../node/secret-compare.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, NO_LEADER_RETRY_AFTER_SEC } from '../errors.js';
import { defineRoute, type RouteSpec } from '../route.js';
import { ReadQuery } from '../schemas.js';

/** Whether `Authorization: Bearer <token>` carries the metrics token (constant time). */
function hasMetricsToken(header: string | string[] | undefined, tokenDigest: Buffer | undefined): boolean {
  if (tokenDigest === undefined || typeof header !== 'string') return false;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match !== null && matchesSecret(match[1], tokenDigest);
}

export interface MetricsSources {
  /** Cluster and node series: open to anyone (health checks, dashboards). */
  registry: Registry;
  /** Series that name queues: only with `token`; never without one. */
  perQueue: Registry;
  token?: string;
}

export function healthRoutes(deps: ApiDeps, metrics: MetricsSources, openApi: () => unknown): RouteSpec[] {
  const metricsTokenDigest = metrics.token === undefined ? undefined : secretDigest(metrics.token);
  return [
    defineRoute({
      method: 'GET',
      path: '/health',
      operationId: 'health',
      summary: 'Liveness: 200 while the process runs',
      auth: false,
      kind: 'local',
            success: 200,
      async handle() {
        return { status: 200, body: { status: 'ok' } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/ready',
      operationId: 'ready',
      summary: 'Readiness: 200 when this node knows a leader and has applied all it knows committed, else 503',
      auth: false,
      kind: 'local',
            success: 200,
      async handle() {
        if (!deps.node.isReady()) {
          throw new ApiError('no_leader', 'not ready: no known leader or still applying the log', undefined, NO_LEADER_RETRY_AFTER_SEC);
        }
        const status = deps.node.status();
        return { status: 200, body: { status: 'ready', leaderId: status.leaderId, appliedIndex: status.appliedIndex } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus text format; per-queue series only with Authorization: Bearer <metrics token>',
      auth: false,
      kind: 'local',
      success: 200,
      async handle({ headers }) {
        let text = await metrics.registry.metrics();
        if (hasMetricsToken(headers.authorization, metricsTokenDigest)) text += await metrics.perQueue.metrics();
        return { status: 200, raw: { contentType: metrics.registry.contentType, bytes: text } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/cluster',
      operationId: 'cluster',
      summary: "This node's view of the cluster: role, term, leader, indexes, members",
      auth: false,
      kind: 'local',
      query: ReadQuery,
      success: 200,
      async handle() {
        return { status: 200, body: deps.node.status() };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API as OpenAPI 3.1, generated from the request schemas',
      auth: false,
      kind: 'local',
            success: 200,
      async handle() {
        return { status: 200, body: openApi() };
      },
    }),
  ];
}
