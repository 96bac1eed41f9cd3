// The API's Prometheus metrics, on the registry the node also registers Raft metrics on:
// HTTP request duration by route and status, messages sent/received/acked, and the
// ready/inflight/delayed depth of every queue and subscription (read at scrape time).
// The per-queue series name every tenant's queues, so they live on a registry of their
// own that /metrics serves only with the metrics token (docs/SECURITY.md).
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { DepthRow } from '../broker/index.js';
import { RequestDurations } from './request-durations.js';

export type MessageKind = 'queue' | 'topic' | 'subscription';

const KINDS: readonly MessageKind[] = ['queue', 'topic', 'subscription'];

/** A counter by message kind, counted in plain numbers and handed to prom-client at
 *  scrape time: its inc() builds and hashes the label set on every call. */
function kindCounter(registry: Registry, name: string, help: string): Record<MessageKind, number> {
  const totals: Record<MessageKind, number> = { queue: 0, topic: 0, subscription: 0 };
  new Counter({
    name,
    help,
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of KINDS) if (totals[kind] > 0) this.inc({ kind }, totals[kind]);
    },
  });
  return totals;
}

export class ApiMetrics {
  private readonly durations = new RequestDurations();
  private readonly sends: Record<MessageKind, number>;
  private readonly receives: Record<MessageKind, number>;
  private readonly acks: Record<MessageKind, number>;
  /** Series labelled with queue and subscription names. */
  readonly perQueue = new Registry();

  constructor(registry: Registry, depths: () => DepthRow[]) {
    registry.registerMetric(this.durations as unknown as Metric);
    this.sends = kindCounter(registry, 'mom_messages_sent_total', 'Messages accepted by send (queue) or publish (topic) on this node');
    this.receives = kindCounter(registry, 'mom_messages_received_total', 'Messages delivered to receivers by this node');
    this.acks = kindCounter(registry, 'mom_messages_acked_total', 'Messages acknowledged through this node');
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

  /** Records a request's duration under its route template (`unmatched` without one;
   *  never the raw path, which would make one time series per queue name). */
  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    this.durations.observe(method, route ?? 'unmatched', status, seconds);
  }

  sent(kind: MessageKind, n: number): void {
    if (n > 0) this.sends[kind] += n;
  }

  received(kind: MessageKind, n: number): void {
    if (n > 0) this.receives[kind] += n;
  }

  acked(kind: MessageKind, n: number): void {
    if (n > 0) this.acks[kind] += n;
  }
}
