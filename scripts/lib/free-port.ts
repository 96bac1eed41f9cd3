// The one free-port allocator of the tests, the launchers and the AWS smoke test.
import { createServer } from 'node:net';

/** Eight jest workers' blocks fit below the kernel's ephemeral range (32768). */
const PORTS_PER_WORKER = 700;

/** Where the first worker's block starts. Two test runs on one machine (two checkouts)
 *  would hand out the same ports: give each its own MOM_TEST_PORT_BASE (1024..26000). */
function testPortBase(): number {
  const base = Number(process.env.MOM_TEST_PORT_BASE ?? 20_000);
  return Number.isInteger(base) && base >= 1024 && base <= 32_768 - 8 * PORTS_PER_WORKER ? base : 20_000;
}

/** The next port freePort() tries in this jest worker's block. */
let nextPortInBlock = 0;

/**
 * A TCP port that was free a moment ago on 127.0.0.1. A port is handed out between
 * closing the probe and the node's own listen, so parallel test workers asking the
 * kernel for "any port" can be handed the same one (a node then found another
 * worker's gRPC server on its HTTP port). Under jest each worker therefore takes ports
 * from its own block, below the kernel's ephemeral range; elsewhere any port will do.
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.JEST_WORKER_ID);
  if (!Number.isInteger(worker) || worker < 1 || worker > 8) return probePort(0);
  const first = testPortBase() + (worker - 1) * PORTS_PER_WORKER;
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const port = first + (nextPortInBlock++ % PORTS_PER_WORKER);
    const got = await probePort(port).catch(() => undefined);
    if (got !== undefined) return got;
  }
  return probePort(0);
}

function probePort(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(bound));
    });
  });
}
