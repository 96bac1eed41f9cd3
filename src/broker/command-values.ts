// The `value` a successful apply returns, by command type: the return types of the
// functions Broker.execute() dispatches to, so the API's commit() is typed by the command
// it proposes. A command type missing here fails to compile at CommandValue. Receives are
// typed as answered (Broker.answer fills their bodies in on the proposing node).
import type { CommandType } from './commands.js';
import type { FramesView } from './producers.js';
import type * as Q from './queue-commands.js';
import type { ReceivedView } from './results.js';
import type * as T from './topic-commands.js';

type Answered = { messages: ReceivedView[] };

type Values = {
  'user.register': { username: string };
  'queue.create': ReturnType<typeof Q.createQueue>;
  'queue.delete': ReturnType<typeof Q.deleteQueue>;
  'queue.purge': ReturnType<typeof Q.purgeQueue>;
  'queue.grant': ReturnType<typeof Q.grantQueue>;
  'queue.revoke': ReturnType<typeof Q.revokeQueue>;
  /** FramesView: a producer's send carrying several frames (README, Producers). */
  'queue.send': ReturnType<typeof Q.sendToQueue> | FramesView;
  'queue.receive': Answered;
  'queue.ack': ReturnType<typeof Q.ackQueue>;
  'queue.nack': ReturnType<typeof Q.nackQueue>;
  'queue.visibility': ReturnType<typeof Q.queueVisibility>;
  'topic.create': ReturnType<typeof T.createTopic>;
  'topic.delete': ReturnType<typeof T.deleteTopic>;
  'topic.grant': ReturnType<typeof T.grantTopic>;
  'topic.revoke': ReturnType<typeof T.revokeTopic>;
  'topic.publish': ReturnType<typeof T.publish> | FramesView;
  'subscription.create': ReturnType<typeof T.createSubscription>;
  'subscription.delete': ReturnType<typeof T.deleteSubscription>;
  'subscription.receive': Answered;
  'subscription.ack': ReturnType<typeof T.ackSubscription>;
  'subscription.nack': ReturnType<typeof T.nackSubscription>;
  'subscription.visibility': ReturnType<typeof T.subscriptionVisibility>;
  tick: null;
  'cluster.limits': null;
};

export type CommandValue<C extends CommandType> = Values[C];
