// The API's Prometheus metrics, on the registry the node also registers Raft metrics on:
// HTTP request duration by route and status, messages sent/received/acked, and the
// ready/inflight/delayed depth of every queue and subscription (read at scrape time).
// The per-queue series name every tenant's queues, so they live on a registry of their
// own that /metrics serves only with the metrics token (docs/SECURITY.md).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DepthRow } from '../broker/index.js';

export type MessageKind = 'queue' | 'topic' | 'subscription';

export class ApiMetrics {
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly sends: Counter<'kind'>;
  private readonly receives: Counter<'kind'>;
  private readonly acks: Counter<'kind'>;
  /** Series labelled with queue and subscription names. */
  readonly perQueue = new Registry();

  constructor(registry: Registry, depths: () => DepthRow[]) {
    const registers = [registry];
    this.httpDuration = new Histogram({
      name: 'mom_http_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
      registers,
    });
    this.sends = new Counter({
      name: 'mom_messages_sent_total',
      help: 'Messages accepted by send (queue) or publish (topic) on this node',
      labelNames: ['kind'],
      registers,
    });
    this.receives = new Counter({
      name: 'mom_messages_received_total',
      help: 'Messages delivered to receivers by this node',
      labelNames: ['kind'],
      registers,
    });
    this.acks = new Counter({
      name: 'mom_messages_acked_total',
      help: 'Messages acknowledged through this node',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'mom_queue_messages',
      help: 'Messages per queue or subscription and state (ready, inflight, delayed), from the local applied state',
      labelNames: ['kind', 'target', 'state'],
      registers: [this.perQueue],
      collect() {
        this.reset();
        for (const row of depths()) {
          this.set({ kind: row.kind, target: row.target, state: 'ready' }, row.ready);
          this.set({ kind: row.kind, target: row.target, state: 'inflight' }, row.inflight);
          this.set({ kind: row.kind, target: row.target, state: 'delayed' }, row.delayed);
        }
      },
    });
  }

  sent(kind: MessageKind, n: number): void {
    if (n > 0) this.sends.inc({ kind }, n);
  }

  received(kind: MessageKind, n: number): void {
    if (n > 0) this.receives.inc({ kind }, n);
  }

  acked(kind: MessageKind, n: number): void {
    if (n > 0) this.acks.inc({ kind }, n);
  }
}
