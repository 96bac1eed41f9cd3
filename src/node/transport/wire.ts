// The wire format, loaded by reflection from proto/raft.proto (the single source of
// truth), and the conversions between it and the core's Message type.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ServiceDefinition as GrpcServiceDefinition } from '@grpc/grpc-js';
import type { ServiceDefinition } from 'nice-grpc';
import type { Entry, Message, MessageType, SnapshotChunk } from '../../raft/types.js';
import { decodeRecords, recordRuns, recordsOf } from '../storage/entry-records.js';
import { GatheredFrame } from './gathered-frame.js';

// Decode 64-bit integers as plain numbers (exact below 2^53, which indexes and terms
// never reach) instead of Long objects: cheaper, and what the core uses.
protobuf.util.Long = undefined as unknown as protobuf.Constructor<Long>;
protobuf.configure();

// src/node/transport/wire.ts and dist/node/transport/wire.js are both three levels
// below the repository root, where proto/ lives.
export const PROTO_PATH = fileURLToPath(new URL('../../../proto/raft.proto', import.meta.url));

const root = protobuf.loadSync(PROTO_PATH);
const MessageBatchType = root.lookupType('mom.raft.v1.MessageBatch');
const MessageType = root.lookupType('mom.raft.v1.Message');
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

/** How a message's entries go: one `Entry` each, as records inside the message, or
 *  left out (the caller appends the records field itself: encodeBatchParts). */
type EntriesAs = 'fields' | 'records' | 'none';

function toWireMessage(m: Message, entriesAs: EntriesAs): object {
  const records = entriesAs === 'records' && m.entries.length > 0;
  return {
    type: MESSAGE_TYPE_NUMBER.get(m.type),
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: records || entriesAs === 'none' ? [] : m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type === 'config' ? 1 : 0, data: e.data })),
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
    messages: b.messages.map((m) => toWireMessage(m, b.entriesAsRecords === true ? 'records' : 'fields')),
    acceptsEntryRecords: b.acceptsEntryRecords ?? true,
  }).finish();
}

// Protobuf tags (field number << 3 | wire type 2, length-delimited) of the fields that
// encodeBatchParts writes itself.
const BATCH_MESSAGES_TAG = (4 << 3) | 2;
const MESSAGE_ENTRY_RECORDS_TAG = (14 << 3) | 2;

/**
 * The same frame as encodeBatch, as a list of buffers: the small fields encoded by
 * protobufjs, and the records of each message's entries as the views recordRuns gives
 * (the buffers the leader encoded them into), not copied. Protobuf lets fields come in
 * any order, so each message's records field goes after its other fields, and the
 * batch's messages after its other fields: decodeBatch reads it as encodeBatch's.
 * Undefined when no message carries records (encodeBatch's one buffer is as cheap).
 */
export function encodeBatchParts(b: WireBatch): Uint8Array[] | undefined {
  if (b.entriesAsRecords !== true || !b.messages.some((m) => m.entries.length > 0)) return undefined;
  const parts: Uint8Array[] = [
    MessageBatchType.encode({ clusterId: b.clusterId, clusterToken: b.clusterToken, from: b.from, messages: [], acceptsEntryRecords: b.acceptsEntryRecords ?? true }).finish(),
  ];
  for (const m of b.messages) {
    const fields = MessageType.encode(toWireMessage(m, 'none')).finish();
    const runs = m.entries.length > 0 ? recordRuns(m.entries) : [];
    let recordBytes = 0;
    for (const r of runs) recordBytes += r.length;
    const head = protobuf.Writer.create();
    if (runs.length === 0) {
      head.uint32(BATCH_MESSAGES_TAG).uint32(fields.length);
      parts.push(head.finish(), fields);
      continue;
    }
    const recordsField = protobuf.Writer.create().uint32(MESSAGE_ENTRY_RECORDS_TAG).uint32(recordBytes).finish();
    head.uint32(BATCH_MESSAGES_TAG).uint32(fields.length + recordsField.length + recordBytes);
    parts.push(head.finish(), fields, recordsField, ...runs);
  }
  return parts;
}

/** What the Raft stream hands grpc-js for a batch: its parts when it carries records
 *  (see gathered-frame.ts), else its one buffer. */
function serializeForStream(b: WireBatch): Buffer {
  const parts = encodeBatchParts(b);
  if (parts === undefined) return asBuffer(encodeBatch(b));
  // grpc-js types the serializer's result as a Buffer and uses its length and copy()
  // alone (gathered-frame.ts).
  return new GatheredFrame(parts) as unknown as Buffer;
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
    requestSerialize: serializeForStream,
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
