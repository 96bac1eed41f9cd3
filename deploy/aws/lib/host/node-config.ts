import { HTTP_PORT, GRPC_PORT, type NodePlacement } from '../cluster-layout.js';
import { HOST_PATHS } from './paths.js';

// The broker's NodeConfig (docs/contracts.md) for one node on AWS. Secrets are never in
// it: the node reads them from files the user data fetched from Secrets Manager.

export interface AwsNodeConfig {
  nodeId: string;
  clusterId: string;
  clusterTokenFile: string;
  httpListen: string;
  grpcListen: string;
  advertisedHttpUrl: string;
  peers: { id: string; grpcAddress: string; httpUrl: string }[];
  dataDir: string;
  jwtSecretFile: string;
  /** Mutual TLS on gRPC with the certificate the boot script issued (node-tls.ts). */
  tls: { cert: string; key: string; ca: string };
  /** The load balancer's subnets: their X-Forwarded-For names the client. */
  trustedProxies: string[];
  leaderMode: 'forward';
  production: true;
  logLevel: string;
}

export interface NodeConfigInput {
  nodeId: string;
  clusterId: string;
  nodes: readonly NodePlacement[];
  /** CIDRs of the load balancer's (public) subnets. */
  trustedProxies?: readonly string[];
  logLevel?: string;
}

export function nodeConfig(input: NodeConfigInput): AwsNodeConfig {
  const self = input.nodes.find((n) => n.nodeId === input.nodeId);
  if (!self) throw new Error(`node ${input.nodeId} is not in the cluster layout`);
  return {
    nodeId: self.nodeId,
    clusterId: input.clusterId,
    clusterTokenFile: HOST_PATHS.clusterTokenFile,
    // All interfaces: the ALB health-checks and forwards to the private IP.
    httpListen: `0.0.0.0:${HTTP_PORT}`,
    grpcListen: `0.0.0.0:${GRPC_PORT}`,
    advertisedHttpUrl: self.httpUrl,
    peers: input.nodes.map((n) => ({ id: n.nodeId, grpcAddress: n.grpcAddress, httpUrl: n.httpUrl })),
    dataDir: HOST_PATHS.dataDir,
    jwtSecretFile: HOST_PATHS.jwtSecretFile,
    tls: { cert: HOST_PATHS.tlsCert, key: HOST_PATHS.tlsKey, ca: HOST_PATHS.tlsCa },
    trustedProxies: [...(input.trustedProxies ?? [])],
    // Clients behind the ALB cannot reach a private leader, so followers forward writes.
    leaderMode: 'forward',
    production: true,
    logLevel: input.logLevel ?? 'info',
  };
}

export function renderNodeConfig(input: NodeConfigInput): string {
  return `${JSON.stringify(nodeConfig(input), null, 2)}\n`;
}
