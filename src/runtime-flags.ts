// V8 flags a broker node needs on its command line: heap sizes are fixed when the
// heap is created, so v8.setFlagsFromString (src/runtime-tuning.ts) cannot set them.
// Every launcher passes these: scripts/lib/local-cluster.ts (make cluster, the process
// tests, the benchmarks), the systemd unit of deploy/aws and the README's command line
// (test/node/runtime-flags.test.ts checks the last two agree with this list).
//
// --max-semi-space-size=64 (MiB; Node 20's default is 16): under load most objects of
// a request (its promise, proposal, entry, reply) live for one group commit, a few
// milliseconds; with a small young generation they survive two scavenges and are
// promoted, and the old generation then pays for collecting them. Measured with
// bench-node, 256 proposers, 3 A/B pairs: CPU per entry leader 40 -> 21 us,
// follower 17 -> 11 us; resident memory about +50 MiB per node.
//
// --initial-old-space-size=128 (MiB): the old generation is not marked before it
// holds 128 MiB. V8 starts incremental marking as soon as the old generation's room
// below its limit is smaller than the young generation's capacity; a node's old
// generation is small (~25 MiB live) and its limit, recomputed after each full GC from
// that size, left ~25 MiB of room under a 64 MiB young generation: marking restarted
// right after every full GC, ~8 full GCs a second on a follower under batched sends
// (--trace-gc). The initial size is also the floor V8 keeps the limit at, so the
// room stays larger than the young generation. Measured with `make bench` (batches of
// 100, A/B pairs in the commit that set it): CPU per message follower ~9.5 -> ~3.7 us,
// leader ~12.9 -> ~10.5 us.
export const NODE_PROCESS_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--initial-old-space-size=128'];
