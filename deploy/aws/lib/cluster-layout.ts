// The static shape of the cluster on AWS. Raft peers are addressed by fixed private
// IPs, so the layout is decided at synth time from the subnet CIDRs alone.

export const NODE_IDS = ['n1', 'n2', 'n3'] as const;
export type NodeId = (typeof NODE_IDS)[number];

export const HTTP_PORT = 8080;
export const GRPC_PORT = 9090;
export const VPC_CIDR = '10.20.0.0/16';

/** Host number of each node inside its own private subnet (AWS reserves .0-.3 and the last). */
export const NODE_HOST_NUMBER = 10;

export interface NodePlacement {
  nodeId: NodeId;
  /** Index of the availability zone / private subnet the node lives in. */
  zoneIndex: number;
  privateIp: string;
  grpcAddress: string;
  httpUrl: string;
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The address `hostNumber` hosts into an IPv4 CIDR, refusing addresses AWS reserves. */
export function hostInSubnet(cidr: string, hostNumber: number): string {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!match) throw new Error(`not an IPv4 CIDR (is it an unresolved token?): ${cidr}`);
  const prefix = Number(match[2]);
  if (prefix < 16 || prefix > 28) throw new Error(`AWS subnets are /16 to /28, got ${cidr}`);
  const size = 2 ** (32 - prefix);
  const base = ipToInt(match[1]);
  if (base % size !== 0) throw new Error(`CIDR base is not aligned: ${cidr}`);
  // AWS reserves the network address, the next three, and the broadcast address.
  if (!Number.isInteger(hostNumber) || hostNumber < 4 || hostNumber > size - 2) {
    throw new Error(`host ${hostNumber} is reserved or outside ${cidr}`);
  }
  return intToIp(base + hostNumber);
}

/** One node per private subnet (so per availability zone), in node-id order. */
export function planNodes(privateSubnetCidrs: readonly string[]): NodePlacement[] {
  if (privateSubnetCidrs.length < NODE_IDS.length) {
    throw new Error(
      `need ${NODE_IDS.length} private subnets (one per node and zone), got ${privateSubnetCidrs.length}`,
    );
  }
  return NODE_IDS.map((nodeId, zoneIndex) => {
    const privateIp = hostInSubnet(privateSubnetCidrs[zoneIndex], NODE_HOST_NUMBER);
    return {
      nodeId,
      zoneIndex,
      privateIp,
      grpcAddress: `${privateIp}:${GRPC_PORT}`,
      httpUrl: `http://${privateIp}:${HTTP_PORT}`,
    };
  });
}
