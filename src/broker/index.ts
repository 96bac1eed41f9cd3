export * from './commands.js';
export { bodyOnlySendBody } from './send-shape.js';
export * from './errors.js';
export * from './results.js';
export * from './targets.js';
export type { CommandValue } from './command-values.js';
export { Broker, type ApplyContext, type ReadyListener } from './broker.js';
export { DEFAULT_LIMITS, resolveLimits, type BrokerLimits, type LimitName } from './quotas.js';
export { MessageBodyMissingError, type EntryReader } from './entry-bodies.js';
