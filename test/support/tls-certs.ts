import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throwaway CA and one certificate for 127.0.0.1 signed by it (needs openssl). */
export function makeTlsFiles(dir: string): { cert: string; key: string; ca: string } {
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=mom-test-ca');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('node.key'), '-out', f('node.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  ssl('x509', '-req', '-in', f('node.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('node.pem'), '-days', '1', '-extfile', f('ext.cnf'));
  return { cert: f('node.pem'), key: f('node.key'), ca: f('ca.pem') };
}
