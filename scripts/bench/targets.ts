// The numbers to beat: our targets and the peers measured on this machine
// (3 nodes, 1 KiB bodies, confirmed writes), keyed by the metric they apply to.

export interface Target {
  /** `min`: the figure must reach the value; `max`: it must stay below it. */
  kind: 'min' | 'max';
  value: number;
}

export interface Reference {
  target?: Target;
  /** What the established brokers reached here, as measured here. */
  peers?: string;
}

export const REFERENCES: Record<string, Reference> = {
  'sequential.rate': { target: { kind: 'min', value: 1000 }, peers: 'RabbitMQ ~500, NATS ~1,050, etcd ~220' },
  'sequential.p50': { target: { kind: 'max', value: 1 }, peers: 'RabbitMQ 1.8, NATS 0.85' },
  'pipelined.rate': { target: { kind: 'min', value: 15_000 }, peers: 'RabbitMQ ~9,000, NATS ~6,400-9,300, etcd ~2,000-2,900' },
  'batched100.rate': { target: { kind: 'min', value: 100_000 } },
  'receiveAck.rate': { target: { kind: 'min', value: 20_000 }, peers: 'RabbitMQ ~12,000, NATS ~10,800' },
  'streamSend.rate': { target: { kind: 'min', value: 24_000 }, peers: 'RabbitMQ QQ ~16,000 confirmed' },
  'streamConsume.rate': { target: { kind: 'min', value: 32_000 }, peers: 'RabbitMQ ~21,000' },
  'failover.firstAck': { target: { kind: 'max', value: 1500 } },
  'recovery.ready': { target: { kind: 'max', value: 5000 } },
  'backlog.perMessage': { target: { kind: 'max', value: 150 } },
  'backlog.restartReady': { target: { kind: 'max', value: 5000 } },
};

export function meetsTarget(target: Target, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  return target.kind === 'min' ? value >= target.value : value < target.value;
}
