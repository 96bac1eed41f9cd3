// The wire format, loaded by reflection from proto/raft.proto (the single source of
// truth), and the conversions between it and the core's Message type.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ServiceDefinition as GrpcServiceDefinition } from '@grpc/grpc-js';
import type { ServiceDefinition } from 'nice-grpc';
import type { Entry, Message, MessageType, SnapshotChunk } from '../../raft/types.js';
import { decodeRecords, recordsOf } from '../storage/entry-records.js';

// Decode 64-bit integers as plain numbers (exact below 2^53, which indexes and terms
// never reach) instead of Long objects: cheaper, and what the core uses.
protobuf.util.Long = undefined as unknown as protobuf.Constructor<Long>;
protobuf.configure();

// src/node/transport/wire.ts and dist/node/transport/wire.js are both three levels
// below the repository root, where proto/ lives.
export const PROTO_PATH = fileURLToPath(new URL('../../../proto/raft.proto', import.meta.url));

const root = protobuf.loadSync(PROTO_PATH);
const MessageBatchType = root.lookupType('mom.raft.v1.MessageBatch');
const SendAckType = root.lookupType('mom.raft.v1.SendAck');
const ForwardRequestType = root.lookupType('mom.raft.v1.ForwardRequest');
const ForwardResponseType = root.lookupType('mom.raft.v1.ForwardResponse');

export interface WireBatch {
  clusterId: string;
  clusterToken: string;
  from: string;
  messages: Message[];
  /** On the wire: the sender reads entry_records. This build always sets it. */
  acceptsEntryRecords?: boolean;
  /** Not on the wire: encode entries as records (the peer accepts them). */
  entriesAsRecords?: boolean;
}

export interface WireForwardRequest {
  clusterId: string;
  clusterToken: string;
  from: string;
  payload: Uint8Array;
}

export interface WireForwardResponse {
  payload: Uint8Array;
}

// Enum numbers in proto order (index = wire value).
const MESSAGE_TYPES: (MessageType | undefined)[] = [
  undefined,
  'preVote',
  'preVoteResp',
  'vote',
  'voteResp',
  'append',
  'appendResp',
  'heartbeat',
  'heartbeatResp',
  'snapshot',
  'snapshotResp',
  'timeoutNow',
];
const MESSAGE_TYPE_NUMBER = new Map(MESSAGE_TYPES.map((t, i) => [t, i]));

const EMPTY = new Uint8Array(0);

/** A wire value that does not make a valid message (a peer speaking another format). */
export class WireFormatError extends Error {}

function toWireMessage(m: Message, asRecords: boolean): object {
  const records = asRecords && m.entries.length > 0;
  return {
    type: MESSAGE_TYPE_NUMBER.get(m.type),
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: records ? [] : m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type === 'config' ? 1 : 0, data: e.data })),
    entryRecords: records ? recordsOf(m.entries) : undefined,
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    hintTerm: m.hintTerm,
    context: m.context,
    snapshot: m.snapshot
      ? {
          meta: { index: m.snapshot.meta.index, term: m.snapshot.meta.term, conf: { voters: m.snapshot.meta.conf.voters } },
          offset: m.snapshot.offset,
          totalBytes: m.snapshot.totalBytes,
          data: m.snapshot.data,
          done: m.snapshot.done,
        }
      : undefined,
  };
}

// Shapes of what protobufjs decodes (defaults come from the prototype).
interface DecodedEntry {
  term: number;
  index: number;
  type: number;
  data: Uint8Array;
}
interface DecodedMessage {
  type: number;
  from: string;
  to: string;
  term: number;
  logTerm: number;
  index: number;
  entries: DecodedEntry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  hintTerm: number;
  context: Uint8Array;
  entryRecords?: Uint8Array;
  snapshot?: {
    meta?: { index: number; term: number; conf?: { voters: string[] } };
    offset: number;
    totalBytes: number;
    data: Uint8Array;
    done: boolean;
  } | null;
}

function fromWireMessage(d: DecodedMessage): Message {
  const type = MESSAGE_TYPES[d.type];
  if (type === undefined) throw new WireFormatError(`unknown message type ${d.type}`);
  let entries: Entry[];
  if (d.entryRecords && d.entryRecords.length > 0) {
    try {
      entries = decodeRecords(d.entryRecords);
    } catch (err) {
      throw new WireFormatError(`entry records: ${(err as Error).message}`);
    }
  } else {
    entries = new Array<Entry>(d.entries.length);
    for (let i = 0; i < d.entries.length; i++) {
      const e = d.entries[i];
      entries[i] = { term: e.term, index: e.index, type: e.type === 1 ? 'config' : 'normal', data: e.data ?? EMPTY };
    }
  }
  let snapshot: SnapshotChunk | undefined;
  if (d.snapshot) {
    const meta = d.snapshot.meta;
    if (!meta) throw new WireFormatError('snapshot chunk without metadata');
    snapshot = {
      meta: { index: meta.index, term: meta.term, conf: { voters: [...(meta.conf?.voters ?? [])] } },
      offset: d.snapshot.offset,
      totalBytes: d.snapshot.totalBytes,
      data: d.snapshot.data ?? EMPTY,
      done: d.snapshot.done,
    };
  }
  return {
    type,
    from: d.from,
    to: d.to,
    term: d.term,
    logTerm: d.logTerm,
    index: d.index,
    entries,
    commit: d.commit,
    reject: d.reject,
    rejectHint: d.rejectHint,
    hintTerm: d.hintTerm,
    context: d.context ?? EMPTY,
    ...(snapshot ? { snapshot } : {}),
  };
}

export function encodeBatch(b: WireBatch): Uint8Array {
  return MessageBatchType.encode({
    clusterId: b.clusterId,
    clusterToken: b.clusterToken,
    from: b.from,
    messages: b.messages.map((m) => toWireMessage(m, b.entriesAsRecords === true)),
    acceptsEntryRecords: b.acceptsEntryRecords ?? true,
  }).finish();
}

export function decodeBatch(bytes: Uint8Array): WireBatch {
  const d = MessageBatchType.decode(bytes) as unknown as { clusterId: string; clusterToken: string; from: string; messages: DecodedMessage[]; acceptsEntryRecords: boolean };
  return {
    clusterId: d.clusterId,
    clusterToken: d.clusterToken,
    from: d.from,
    messages: d.messages.map(fromWireMessage),
    acceptsEntryRecords: d.acceptsEntryRecords === true,
  };
}

function codec<T>(type: protobuf.Type) {
  return {
    serialize: (v: T) => type.encode(v as object).finish(),
    deserialize: (bytes: Uint8Array) => type.toObject(type.decode(bytes), { defaults: true }) as T,
  };
}

const ack = codec<Record<string, never>>(SendAckType);
const forwardRequest = codec<WireForwardRequest>(ForwardRequestType);
const forwardResponse = codec<WireForwardResponse>(ForwardResponseType);

/**
 * nice-grpc hands grpc-js `Buffer.from(serialize(value))`, a copy of every frame (and
 * grpc-js copies it once more behind its 5-byte prefix). Given an ArrayBuffer instead,
 * Buffer.from makes a view: a frame that fills its own ArrayBuffer (protobufjs allocates
 * one of the exact size for anything over Buffer's 4 KiB pool slices) goes as that. An
 * append of a batch of 100 messages is ~100 KiB per follower; this copy was ~5% of the
 * leader's CPU under batched sends.
 */
function withoutCopy(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return whole ? (bytes.buffer as unknown as Uint8Array) : bytes;
}

/** The nice-grpc service definition of `service Raft`, built from the reflected types. */
export const RaftServiceDefinition = {
  send: {
    path: '/mom.raft.v1.Raft/Send',
    requestStream: true,
    responseStream: false,
    requestSerialize: (b: WireBatch) => withoutCopy(encodeBatch(b)),
    requestDeserialize: decodeBatch,
    responseSerialize: ack.serialize,
    responseDeserialize: ack.deserialize,
    options: {},
  },
  forward: {
    path: '/mom.raft.v1.Raft/Forward',
    requestStream: false,
    responseStream: false,
    requestSerialize: forwardRequest.serialize,
    requestDeserialize: forwardRequest.deserialize,
    responseSerialize: forwardResponse.serialize,
    responseDeserialize: forwardResponse.deserialize,
    options: {},
  },
} as const satisfies ServiceDefinition;

export type RaftServiceDefinition = typeof RaftServiceDefinition;

/** grpc-js takes a Buffer: a view of the encoded bytes (grpc-js copies them once, behind its 5-byte prefix). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The same service for grpc-js used directly: the Raft stream (PeerLink) and the
 * server are on the hot path of every write, where nice-grpc's async iterables cost
 * microtask hops and CPU on both ends (see scripts/bench-hop.ts). Forward keeps
 * nice-grpc's client (RaftServiceDefinition).
 */
export const RaftGrpcService = {
  send: {
    path: RaftServiceDefinition.send.path,
    requestStream: true,
    responseStream: false,
    requestSerialize: (b: WireBatch) => asBuffer(encodeBatch(b)),
    requestDeserialize: decodeBatch,
    responseSerialize: (v: Record<string, never>) => asBuffer(ack.serialize(v)),
    responseDeserialize: ack.deserialize,
  },
  forward: {
    path: RaftServiceDefinition.forward.path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: WireForwardRequest) => asBuffer(forwardRequest.serialize(v)),
    requestDeserialize: forwardRequest.deserialize,
    responseSerialize: (v: WireForwardResponse) => asBuffer(forwardResponse.serialize(v)),
    responseDeserialize: forwardResponse.deserialize,
  },
} as const satisfies GrpcServiceDefinition;
