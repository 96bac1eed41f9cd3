import { MemoryLogStore } from '../../src/raft/storage/memory-log-store.js';
import { describeLogStoreConformance } from './log-store-conformance.js';

describeLogStoreConformance('MemoryLogStore', {
  create: async (conf) => new MemoryLogStore(conf),
  dispose: async () => {},
});
