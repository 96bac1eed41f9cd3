import type { HostPaths } from './paths.js';

// Node-to-node TLS on AWS without a private key in the template or in git, and without
// a deploy-time Lambda: Secrets Manager generates one random CA seed at deploy. Every
// node derives the same P-256 CA key from it at boot, makes its CA certificate (same
// subject and key on every node, so each node's copy verifies the others' certificates),
// issues its own certificate for its fixed private IP, then forgets the seed and the CA
// key. Rotation: put a new seed value and re-run the script on every node (docs/SECURITY.md).

/** Derives the CA's PKCS#8 key from the seed file named by its first argument. */
const DERIVE_CA_KEY_JS = `
const { createECDH, createHash, createPrivateKey } = require('node:crypto');
const seed = require('node:fs').readFileSync(process.argv[2], 'utf8').trim();
if (seed.length < 32) throw new Error('the TLS CA seed is shorter than 32 characters');
const d = createHash('sha256').update('mom node-to-node CA v1\\0' + seed).digest();
const ecdh = createECDH('prime256v1');
ecdh.setPrivateKey(d);
const pub = ecdh.getPublicKey();
const b64 = (b) => b.toString('base64url');
const jwk = { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) };
process.stdout.write(createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }));
`;

/** `mom-issue-node-cert <seed file> <node id> <private ip> <cluster id>`; needs openssl. */
export function renderIssueNodeCertScript(p: HostPaths): string {
  return `#!/bin/bash
# Issues this node's gRPC certificate from the cluster CA seed (see node-tls.ts).
set -euo pipefail
seed_file=$1 node_id=$2 ip=$3 cluster_id=$4
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/derive.cjs" <<'MOM_JS_END'
${DERIVE_CA_KEY_JS.trim()}
MOM_JS_END
${p.nodeBinary} "$work/derive.cjs" "$seed_file" > "$work/ca.key"
cat > "$work/openssl.cnf" <<MOM_CNF_END
[req]
distinguished_name = dn
prompt = no
[dn]
CN = mom \${cluster_id} node CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:\${ip}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
MOM_CNF_END
install -d -m 0755 ${p.tlsDir}
openssl req -x509 -new -config "$work/openssl.cnf" -extensions ca -key "$work/ca.key" -sha256 -days 3650 -set_serial 1 -out "$work/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/node.key"
openssl req -new -config "$work/openssl.cnf" -key "$work/node.key" -subj "/CN=\${node_id}" -out "$work/node.csr"
openssl x509 -req -in "$work/node.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 16)" \\
  -sha256 -days 825 -extfile "$work/openssl.cnf" -extensions leaf -out "$work/node.pem" 2>/dev/null
install -m 0644 "$work/ca.pem" ${p.tlsCa}
install -m 0644 "$work/node.pem" ${p.tlsCert}
install -m 0400 "$work/node.key" ${p.tlsKey}
echo "issued the gRPC certificate of node \${node_id} for IP \${ip}"
`;
}
