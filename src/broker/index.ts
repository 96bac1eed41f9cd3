export * from './commands.js';
export * from './errors.js';
export * from './results.js';
export * from './targets.js';
export type { CommandValue } from './command-values.js';
export { Broker, type ApplyContext, type ReadyListener } from './broker.js';
