import { Cluster } from './harness.js';
import type { Message, NodeId } from '../../src/raft/types.js';

/**
 * Interaction scripts in the style of etcd-io/raft's testdata: a file of commands,
 * each followed by `----` and the exact output it must produce. Blocks are separated
 * by blank lines; lines starting with # are comments. REWRITE=1 regenerates outputs.
 *
 * Commands:
 *   cluster <ids...> [prevote] [checkquorum] [seed=N] [inflight=N] [msgbytes=N] [chunk=N]
 *   campaign <id> | tick <id|all> [n] | elapse <n> (ticks, delivering silently)
 *   propose <id> <data> | read-index <id> <ctx>
 *   transfer <id> <to> | stabilize (deliver until quiet, printing every message)
 *   deliver (one round of the queued messages) | drop <from> <to> (drop queued)
 *   Commands only change nodes; Readys are handled when messages are delivered.
 *   isolate <id> | heal | crash <id> | restart <id> | compact <id>
 *   status <id> | log <id> | applied <id> | read-states <id>
 */
export function runScript(text: string): string {
  const blocks = parse(text);
  let c: Cluster | undefined;
  const out: string[] = [];
  for (const b of blocks) {
    if (b.comments.length > 0) out.push(...b.comments);
    const lines: string[] = [];
    const [cmd, ...args] = b.command.split(/\s+/);
    const need = () => {
      if (!c) throw new Error(`${b.command}: no cluster yet`);
      return c;
    };
    switch (cmd) {
      case 'cluster': {
        const ids = args.filter((a) => !a.includes('=') && a !== 'prevote' && a !== 'checkquorum');
        const opt = (name: string) => {
          const a = args.find((x) => x.startsWith(`${name}=`));
          return a === undefined ? undefined : Number(a.split('=')[1]);
        };
        c = new Cluster({
          ids,
          seed: opt('seed') ?? 1,
          preVote: args.includes('prevote'),
          checkQuorum: args.includes('checkquorum'),
          maxInflightMessages: opt('inflight'),
          maxMessageBytes: opt('msgbytes'),
          snapshotChunkBytes: opt('chunk'),
        });
        lines.push('ok');
        break;
      }
      case 'campaign':
        need().node(args[0]).campaign();
        lines.push('ok');
        break;
      case 'tick': {
        const k = Number(args[1] ?? 1);
        const cl = need();
        const ids = args[0] === 'all' ? cl.ids : [args[0]];
        for (let i = 0; i < k; i++) for (const id of ids) if (!cl.down.has(id)) cl.node(id).tick();
        lines.push('ok');
        break;
      }
      case 'elapse': {
        // n ticks of every live node, delivering everything after each (silently).
        const cl = need();
        for (let i = 0; i < Number(args[0] ?? 1); i++) {
          for (const id of cl.ids) if (!cl.down.has(id)) cl.node(id).tick();
          cl.process();
          for (let round = 0; round < 100 && cl.queue.length > 0; round++) deliverRound(cl, []);
        }
        lines.push('ok');
        break;
      }
      case 'propose':
        lines.push(need().node(args[0]).propose(new TextEncoder().encode(args[1])) ? 'ok' : 'refused');
        break;
      case 'read-index':
        lines.push(need().node(args[0]).readIndex(new TextEncoder().encode(args[1])) ? 'ok' : 'refused');
        break;
      case 'transfer':
        lines.push(need().node(args[0]).transferLeader(args[1]) ? 'ok' : 'refused');
        break;
      case 'deliver':
        deliverRound(need(), lines);
        if (lines.length === 0) lines.push('ok');
        break;
      case 'stabilize': {
        const cl = need();
        cl.process();
        for (let round = 0; round < 100 && cl.queue.length > 0; round++) deliverRound(cl, lines);
        if (lines.length === 0) lines.push('ok');
        break;
      }
      case 'drop': {
        const cl = need();
        const before = cl.queue.length;
        cl.queue = cl.queue.filter((m) => !(m.from === args[0] && m.to === args[1]));
        lines.push(`dropped ${before - cl.queue.length}`);
        break;
      }
      case 'isolate':
        need().isolate(args[0]);
        lines.push('ok');
        break;
      case 'heal':
        need().heal();
        lines.push('ok');
        break;
      case 'crash':
        need().crash(args[0]);
        need().queue = need().queue.filter((m) => m.from !== args[0] && m.to !== args[0]);
        lines.push('ok');
        break;
      case 'restart':
        need().restart(args[0]);
        need().process();
        lines.push('ok');
        break;
      case 'compact':
        lines.push(`compacted to ${need().compact(args[0])}`);
        break;
      case 'status': {
        const st = need().node(args[0]).status();
        lines.push(`${st.id} ${st.role} term=${st.term} leader=${st.leaderId || '-'} commit=${st.commit} applied=${st.applied} last=${st.lastIndex}`);
        for (const [id, p] of Object.entries(st.progress ?? {})) {
          lines.push(`  ${id}: ${p.state} match=${p.match} next=${p.next}${p.recentActive ? '' : ' inactive'}`);
        }
        break;
      }
      case 'log': {
        const store = need().stores.get(args[0])!;
        const first = store.firstIndex();
        const ents = first <= store.lastIndex() ? store.entries(first, store.lastIndex() + 1) : [];
        const snap = store.snapshot().meta;
        lines.push(`${snap.index > 0 ? `snapshot ${snap.index}@${snap.term} ` : ''}${ents.map(fmtEntry).join(' ') || '(empty)'}`);
        break;
      }
      case 'applied':
        lines.push(need().appliedData(args[0]).join(' ') || '(nothing)');
        break;
      case 'read-states':
        lines.push(
          need()
            .readStates.get(args[0])!
            .map((r) => `${new TextDecoder().decode(r.context)}@${r.index}`)
            .join(' ') || '(none)',
        );
        break;
      default:
        throw new Error(`unknown command: ${b.command}`);
    }
    out.push(b.command, '----', ...lines, '');
  }
  return out.join('\n');
}

function deliverRound(c: Cluster, lines: string[]): void {
  c.process();
  const msgs = c.queue;
  c.queue = [];
  for (const m of msgs) {
    const lost = c.down.has(m.to) || c.cut.has(`${m.from}->${m.to}`);
    lines.push(`${lost ? '(lost) ' : ''}${fmtMessage(m)}`);
    if (!lost) c.node(m.to).step(m);
  }
  c.process();
}

function fmtEntry(e: { index: number; term: number; data: Uint8Array }): string {
  return `${e.index}@${e.term}${e.data.length > 0 ? `:${new TextDecoder().decode(e.data)}` : ''}`;
}

export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  const ctx = m.context.length > 0 ? ` ctx=${new TextDecoder().decode(m.context)}` : '';
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return `${head} last=${m.index}@${m.logTerm}${ctx}`;
    case 'preVoteResp':
    case 'voteResp':
      return `${head}${m.reject ? ' REJECT' : ''}`;
    case 'append':
      return `${head} prev=${m.index}@${m.logTerm} [${m.entries.map(fmtEntry).join(' ')}] commit=${m.commit}`;
    case 'appendResp':
      return m.reject ? `${head} REJECT ${m.index} hint=${m.rejectHint}@${m.hintTerm}` : `${head} ${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${ctx}`;
    case 'heartbeatResp':
      return `${head}${ctx}`;
    case 'snapshot': {
      const s = m.snapshot!;
      return `${head} snap=${s.meta.index}@${s.meta.term} bytes=${s.offset}..${s.offset + s.data.length}/${s.totalBytes}${s.done ? ' done' : ''}`;
    }
    case 'snapshotResp':
      return `${head}${m.reject ? ' REJECT' : ''} have=${m.index}`;
    case 'timeoutNow':
      return head;
  }
}

interface Block {
  comments: string[];
  command: string;
}

function parse(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 1}: expected ---- after "${line}"`);
    blocks.push({ comments, command: line.trim() });
    comments = [];
    i += 2;
    while (i < lines.length && lines[i].trim() !== '') i++; // skip the recorded output
  }
  return blocks;
}

export type { NodeId };
