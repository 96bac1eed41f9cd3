import type { EntryBodies, EntryReader } from './entry-bodies.js';
import { iso, type Message } from './message.js';
import type { ReceivedView } from './results.js';

/** A message a receive leased, as apply leaves it: the message (whose body is in the
 *  log) and its lease. Broker.answer turns it into a ReceivedView. */
export class ReceivedRef {
  constructor(
    readonly msg: Message,
    readonly receiptHandle: string,
    readonly receiveCount: number,
  ) {}
}

/** The value of a successful receive (and of its idempotent replays) as apply returns
 *  it: references, not bodies. The answering node fills the bodies in (Broker.answer);
 *  followers never read them. */
export class UnansweredReceive {
  constructor(readonly messages: ReceivedRef[]) {}
}

/** docs/API.md's `{messages: Received[]}`, bodies read from the log. */
export function answerReceive(r: UnansweredReceive, bodies: EntryBodies, read: EntryReader): { messages: ReceivedView[] } {
  const messages = new Array<ReceivedView>(r.messages.length);
  for (let i = 0; i < messages.length; i++) {
    const ref = r.messages[i];
    const m = ref.msg;
    messages[i] = bodies.read(m, read, (body, attributes): ReceivedView => ({
      id: m.id,
      body,
      attributes,
      receiptHandle: ref.receiptHandle,
      receiveCount: ref.receiveCount,
      sentAt: iso(m.sentAt),
    }));
  }
  return { messages };
}
