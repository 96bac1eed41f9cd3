export * from './commands.js';
export * from './errors.js';
export * from './results.js';
export * from './targets.js';
export type { CommandValue } from './command-values.js';
export { Broker, type ApplyContext, type ReadyListener } from './broker.js';
export { DEFAULT_LIMITS, resolveLimits, type BrokerLimits, type LimitName } from './quotas.js';
export type { FrameOutcome, FramesView } from './producers.js';
export { MessageBodyMissingError, type EntryReader } from './entry-bodies.js';
