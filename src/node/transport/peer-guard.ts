// Who may talk to this node's gRPC port: a call carries the cluster id, the cluster
// token and the sending node's id in the first three fields of its request. The guard
// reads those fields alone (skipping the Raft messages or forwarded request undecoded)
// and compares them in constant time, so a stranger's large frame is refused before
// any of it is decoded (docs/SECURITY.md).
import protobuf from 'protobufjs';
import { matchesSecret, secretDigest } from '../secret-compare.js';

export interface Credentials {
  clusterId: string;
  clusterToken: string;
  from: string;
}

/** What a refused request deserializes to: its claimed sender, for the log. */
export interface Refused {
  refused: true;
  from: string;
  clusterId: string;
}

const WIRE_LENGTH_DELIMITED = 2;

/** Fields 1-3 of a MessageBatch or ForwardRequest; every other field is skipped. */
export function peekCredentials(bytes: Uint8Array): Credentials {
  const reader = protobuf.Reader.create(bytes);
  const out: Credentials = { clusterId: '', clusterToken: '', from: '' };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field >= 1 && field <= 3 && (tag & 7) === WIRE_LENGTH_DELIMITED) {
      const value = reader.string();
      if (field === 1) out.clusterId = value;
      else if (field === 2) out.clusterToken = value;
      else out.from = value;
    } else {
      reader.skipType(tag & 7);
    }
  }
  return out;
}

/** The cluster id and token as one secret: the id's length first, so that no other
 *  pair of strings reads the same (one digest per frame instead of two). */
function credentialSecret(clusterId: string, clusterToken: string): string {
  return `${clusterId.length}:${clusterId}${clusterToken}`;
}

export class PeerGuard {
  private readonly credentials: Buffer;

  constructor(
    clusterId: string,
    clusterToken: string,
    private readonly knownPeers: ReadonlySet<string>,
  ) {
    this.credentials = secretDigest(credentialSecret(clusterId, clusterToken));
  }

  /** Constant time in the secrets: one digest of both is compared, whatever matched. */
  admits(c: Credentials): boolean {
    const secretsOk = matchesSecret(credentialSecret(c.clusterId, c.clusterToken), this.credentials);
    return secretsOk && this.knownPeers.has(c.from);
  }

  /** A request deserializer that decodes only what the guard admits. */
  deserializer<T>(decode: (bytes: Uint8Array) => T): (bytes: Uint8Array) => T | Refused {
    return (bytes) => {
      let credentials: Credentials;
      try {
        credentials = peekCredentials(bytes);
      } catch {
        return { refused: true, from: '', clusterId: '' };
      }
      if (!this.admits(credentials)) return { refused: true, from: credentials.from, clusterId: credentials.clusterId };
      return decode(bytes);
    };
  }
}

export function isRefused(value: object): value is Refused {
  return (value as Partial<Refused>).refused === true;
}
