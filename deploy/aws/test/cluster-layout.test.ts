import { hostInSubnet, NODE_IDS, planNodes } from '../lib/cluster-layout.js';

describe('cluster layout', () => {
  test('host addresses inside a subnet', () => {
    expect(hostInSubnet('10.20.3.0/24', 10)).toBe('10.20.3.10');
    expect(hostInSubnet('10.20.0.0/16', 300)).toBe('10.20.1.44');
    expect(hostInSubnet('10.0.255.240/28', 4)).toBe('10.0.255.244');
  });

  test('refuses reserved, out-of-range and malformed addresses', () => {
    expect(() => hostInSubnet('10.20.3.0/24', 3)).toThrow(/reserved/);
    expect(() => hostInSubnet('10.20.3.0/24', 255)).toThrow(/reserved/);
    expect(() => hostInSubnet('10.20.3.0/24', 254)).not.toThrow();
    expect(() => hostInSubnet('10.20.3.8/24', 10)).toThrow(/aligned/);
    expect(() => hostInSubnet('${Token[TOKEN.1]}', 10)).toThrow(/token/);
    expect(() => hostInSubnet('10.20.3.0/8', 10)).toThrow(/16 to \/28/);
    expect(() => hostInSubnet('10.20.300.0/24', 10)).toThrow(/IPv4/);
  });

  test('one node per private subnet, peers addressed by gRPC address and HTTP URL', () => {
    const nodes = planNodes(['10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24']);
    expect(nodes.map((n) => n.nodeId)).toEqual([...NODE_IDS]);
    expect(nodes[1]).toEqual({
      nodeId: 'n2',
      zoneIndex: 1,
      privateIp: '10.20.4.10',
      grpcAddress: '10.20.4.10:9090',
      httpUrl: 'http://10.20.4.10:8080',
    });
    expect(() => planNodes(['10.20.3.0/24', '10.20.4.0/24'])).toThrow(/need 3 private subnets/);
  });
});
