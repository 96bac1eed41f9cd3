import { pino, type DestinationStream, type Logger } from 'pino';

/** One JSON line per event, each carrying the node id (pino's default format). */
export function createLogger(nodeId: string, level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { nodeId }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** For tests and benchmarks: logs nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
