export * from './commands.js';
export * from './errors.js';
export * from './results.js';
export { Broker, type ApplyContext, type ReadyListener } from './broker.js';
