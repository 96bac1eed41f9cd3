import { describe, expect, test } from '@jest/globals';
import { Histogram, Registry, type Metric } from 'prom-client';
import { ApiMetrics } from '../../src/api/metrics.js';
import { RequestDurations } from '../../src/api/request-durations.js';

describe('API metrics', () => {
  test('the request duration histogram exposes exactly what a prom-client Histogram would', async () => {
    const ours = new Registry();
    const durations = new RequestDurations();
    ours.registerMetric(durations as unknown as Metric);
    const reference = new Registry();
    const histogram = new Histogram({
      name: durations.name,
      help: durations.help,
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
      registers: [reference],
    });
    const observations: [string, string, number, number][] = [
      ['POST', '/v1/queues/:name/messages', 201, 0.0004],
      ['POST', '/v1/queues/:name/messages', 201, 0.001],
      ['POST', '/v1/queues/:name/messages', 201, 0.0031],
      ['POST', '/v1/queues/:name/messages', 400, 0.2],
      ['GET', 'unmatched', 404, 30],
      ['HEAD', '/health', 200, 0.025],
    ];
    for (const [method, route, status, seconds] of observations) {
      durations.observe(method, route, status, seconds);
      histogram.observe({ method, route, status: String(status) }, seconds);
    }
    expect(await ours.metrics()).toBe(await reference.metrics());
    // Exemplars (null or undefined in prom-client's values) are not used.
    const withoutExemplars = (metrics: unknown) => JSON.parse(JSON.stringify(metrics, (key, value: unknown) => (key === 'exemplar' ? undefined : value))) as unknown;
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await reference.getMetricsAsJSON()));
    ours.resetMetrics();
    expect(await ours.metrics()).not.toMatch(/_bucket/);
  });

  test('message counters by kind are read at scrape time', async () => {
    const registry = new Registry();
    const metrics = new ApiMetrics(registry, () => []);
    metrics.sent('queue', 3);
    metrics.sent('queue', 2);
    metrics.acked('subscription', 1);
    metrics.received('topic', 0);
    metrics.observeRequest('POST', undefined, 404, 0.002);
    const text = await registry.metrics();
    expect(text).toMatch(/^mom_messages_sent_total\{kind="queue"\} 5$/m);
    expect(text).toMatch(/^mom_messages_acked_total\{kind="subscription"\} 1$/m);
    expect(text).not.toMatch(/^mom_messages_received_total\{/m);
    expect(text).toMatch(/^mom_http_request_duration_seconds_count\{method="POST",route="unmatched",status="404"\} 1$/m);
    metrics.sent('queue', 1);
    expect(await registry.metrics()).toMatch(/^mom_messages_sent_total\{kind="queue"\} 6$/m);
  });
});
