// A send's or publish's producer on the REST route (docs/API.md, Producer sequences): the
// `X-Mom-Producer` header names the producer and its frames' sequences. The stream sets
// it for its frames (docs/STREAM.md, Producers), also when a follower relays them to the
// leader as REST requests; a REST client may send it too.
import { MAX_BATCH, PRODUCER_ID_PATTERN, type FramesView, type ProducerFrames } from '../broker/index.js';
import { fromBrokerError, validationFailed } from './errors.js';
import type { HeaderDoc } from './route.js';

export const PRODUCER_HEADER = 'x-mom-producer';

/** A frame's sequence and count as the header writes them (decimal, no leading zeros). */
const SEQ_TEXT = '(0|[1-9][0-9]{0,15})';
const COUNT_TEXT = '[1-9][0-9]{0,2}';
const SEQ = new RegExp(`^${SEQ_TEXT}$`);
const COUNT = new RegExp(`^${COUNT_TEXT}$`);
/** The producer id pattern without its anchors, to build the whole header's pattern from. */
const ID_TEXT = PRODUCER_ID_PATTERN.source.replace(/^\^|\$$/g, '');

/** The header as the API's OpenAPI document describes it (the pattern from the same rules producerOf checks). */
export const PRODUCER_HEADER_DOC: HeaderDoc = {
  name: 'X-Mom-Producer',
  description: 'The producer and its sequence: "<producer id> <seq>" (or "<id> <seq>:<count>,..." for merged frames); a repeated sequence returns the first answer and stores nothing',
  pattern: new RegExp(`^${ID_TEXT} ${SEQ_TEXT}(:${COUNT_TEXT})?(,${SEQ_TEXT}:${COUNT_TEXT})*$`),
};

/** `<id> <seq>` for one frame (all the request's messages), or `<id> <seq>:<count>,...`
 *  for frames merged into one batch, each taking the next `count` messages. */
export function formatProducer(p: ProducerFrames): string {
  return `${p.id} ${p.frames.map((f) => `${f.seq}:${f.count}`).join(',')}`;
}

const invalid = (message: string) => validationFailed([{ in: 'header', path: 'X-Mom-Producer', message }]);

/** The producer a request's header names, or undefined without one; validation_failed
 *  for a malformed header or counts that do not add up to the request's messages. */
export function producerOf(header: string | string[] | undefined, messages: number): ProducerFrames | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') throw invalid('give it once');
  const [id, list, extra] = header.split(' ');
  if (!PRODUCER_ID_PATTERN.test(id ?? '') || list === undefined || extra !== undefined) {
    throw invalid('must be "<producer id> <seq>" or "<producer id> <seq>:<count>,..." (id: 1..64 of A-Z a-z 0-9 _ -)');
  }
  const parts = list.split(',');
  if (parts.length > MAX_BATCH) throw invalid(`at most ${MAX_BATCH} frames`);
  const frames = parts.map((part) => {
    const [seq, count, more] = part.split(':');
    if (!SEQ.test(seq) || more !== undefined || (count !== undefined && !COUNT.test(count))) {
      throw invalid(`"${part}" is not <seq> or <seq>:<count>`);
    }
    const n = Number(seq);
    if (!Number.isSafeInteger(n)) throw invalid('a sequence must be a safe integer');
    return { seq: n, count: count === undefined ? (parts.length === 1 ? messages : NaN) : Number(count) };
  });
  if (frames.some((f) => Number.isNaN(f.count))) throw invalid('with several frames each needs its count');
  if (frames.reduce((sum, f) => sum + f.count, 0) !== messages) throw invalid('the frame counts must add up to the messages');
  return { id, frames };
}

/** The REST body of a command that carried several frames: each frame's status and
 *  messages, or its status and error, as docs/API.md's error table maps it. */
export function framesBody(view: FramesView): { frames: FrameBody[] } {
  return {
    frames: view.frames.map((f): FrameBody => {
      if (f.ok) return { status: 201, messages: f.messages };
      const err = fromBrokerError(f.error);
      return { status: err.status, error: { code: err.code, message: err.message, details: err.details ?? null } };
    }),
  };
}

export type FrameBody =
  | { status: number; messages: Array<{ id: string; deduplicated: boolean }> }
  | { status: number; error: { code: string; message: string; details: unknown } };

export const isFramesView = (value: unknown): value is FramesView =>
  typeof value === 'object' && value !== null && 'frames' in value;
