// The HTTP/2 flow-control window of the Raft server: how much a peer may send on its
// stream before this node says it read it.
//
// HTTP/2 starts every connection and stream with a 64 KiB window, and grpc-js's server
// keeps it (its options set no window; its client has 'grpc-node.flow_control_window',
// which widens only what the client receives). An append frame of a Ready's entries is
// up to maxFrameBytes (4 MiB): with 64 KiB windows it crossed loopback in ~40 round
// trips of WINDOW_UPDATE, each waiting for both event loops, and a busy leader took
// 80 ms to deliver 2.7 MB to a follower (MOM_LATENCY_TRACE: frame.out -> frame.in),
// which then acknowledged late: the write path's latency (docs/DESIGN.md, "Data flow of one write").
// With a window wider than a frame, a frame leaves in one go; Node reads what arrives
// at once, so the window bounds no memory the link's own queue bounds does not.
import type { Server } from '@grpc/grpc-js';
import type { Http2Server, ServerHttp2Session } from 'node:http2';

/** The stream and connection window the Raft server grants its peers. */
export const RAFT_RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/** grpc-js's server keeps its http2 options and servers in fields of its own (1.14:
 *  commonServerOptions, http2Servers); these are read defensively. */
interface ServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<Http2Server, unknown>;
}

/**
 * Before `server.bindAsync`: the sessions it accepts advertise a stream window of
 * `bytes` (SETTINGS_INITIAL_WINDOW_SIZE). False when grpc-js keeps its options
 * elsewhere (another version): the windows then stay HTTP/2's default.
 */
export function widenStreamWindows(server: Server, bytes = RAFT_RECEIVE_WINDOW_BYTES): boolean {
  const internals = server as unknown as ServerInternals;
  if (typeof internals.commonServerOptions !== 'object' || internals.commonServerOptions === null) return false;
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: bytes };
  return true;
}

/** After `server.bindAsync`: each session it accepts widens its connection window to
 *  `bytes` (a connection window grows only by WINDOW_UPDATE, not by settings). */
export function widenConnectionWindows(server: Server, bytes = RAFT_RECEIVE_WINDOW_BYTES): boolean {
  const servers = (server as unknown as ServerInternals).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(bytes);
      } catch {
        // A session already closing: nothing to widen.
      }
    });
  }
  return servers.size > 0;
}
