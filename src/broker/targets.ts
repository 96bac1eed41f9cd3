// Where messages are delivered, as one string: `queue:<name>` or
// `sub:<topic>/<subscription>`. Names cannot hold ':' or '/' (NAME_PATTERN), so the
// string parses back unambiguously. Long polls, onMessagesReady and /metrics use it.

export type Target = string;

export function queueTarget(queue: string): Target {
  return `queue:${queue}`;
}

export function subscriptionTarget(topic: string, subscription: string): Target {
  return `sub:${topic}/${subscription}`;
}

export type ParsedTarget = { queue: string } | { topic: string; subscription: string };

export function parseTarget(target: Target): ParsedTarget | undefined {
  if (target.startsWith('queue:')) return { queue: target.slice(6) };
  if (!target.startsWith('sub:')) return undefined;
  const slash = target.indexOf('/');
  if (slash < 0) return undefined;
  return { topic: target.slice(4, slash), subscription: target.slice(slash + 1) };
}
