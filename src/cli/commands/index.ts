// Every command of `mom`, in the order `mom --help` lists them.
import { login, logout, register } from './auth.js';
import { cluster } from './cluster.js';
import { grant, revoke } from './grant.js';
import { queueCreate, queueList, queuePurge, queueRemove, queueStats } from './queue.js';
import { receive, subReceive } from './receive.js';
import { publish, send } from './send.js';
import { subCreate, subList, subRemove, topicCreate, topicList, topicRemove } from './topic.js';
import type { Command } from '../command.js';

export const COMMANDS: Command[] = [
  register, login, logout,
  queueCreate, queueList, queueRemove, queuePurge, queueStats,
  send, receive,
  topicCreate, topicList, topicRemove, publish,
  subCreate, subList, subRemove, subReceive,
  grant, revoke,
  cluster,
];
