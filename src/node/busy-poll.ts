// Polling instead of sleeping while an answer is due. A leader at light load spends most
// of a write waiting for its followers' answers; asleep in epoll, it must first be woken
// when they arrive, and a halted vCPU takes tens of microseconds to wake. Measured on
// the 2-vCPU benchmark machine, one send at a time: a follower's answer reached the
// leader's JavaScript 49 µs after grpc-js had sent it when the leader slept, 17 µs when
// it polled, and a request was answered 75 µs sooner. Erlang's schedulers spin a while
// before they sleep for the same reason (+sbwt), at the same price: CPU. RabbitMQ 3.10
// turns that off; turned on here, it made RabbitMQ slower (970 against ~1,200 sends a
// second, one at a time), as all three of its nodes spun on two cores: only a leader
// polls here, and only at light load.
//
// While it runs, BusyPoll keeps one setImmediate pending, which makes libuv poll with a
// zero timeout: the loop does not sleep, and what arrives is read on its next turn. That
// costs up to a core, so the Ready loop runs it only on a leader at light load, while
// proposals wait, for at most config.leaderBusyPollUs after the latest one. Where the
// nodes share cores it also costs some tail latency: a follower woken for its frame or
// its disk may wait for the core the leader polls on (row 1's p99 on the benchmark
// machine, measured with and without: README, "A leader that polls instead of sleeping").
import { performance } from 'node:perf_hooks';

export class BusyPoll {
  private running = false;
  private until = 0;

  /** `wanted` is asked on every turn: polling stops when it says no, or `forMs` after
   *  the latest start(). */
  constructor(private readonly wanted: () => boolean, private readonly forMs: number) {}

  /** Polls until `forMs` from now; nothing when `forMs` is 0. */
  start(): void {
    if (this.forMs <= 0) return;
    this.until = performance.now() + this.forMs;
    if (this.running) return;
    this.running = true;
    setImmediate(this.turn);
  }

  get polling(): boolean {
    return this.running;
  }

  private readonly turn = (): void => {
    if (this.wanted() && performance.now() < this.until) setImmediate(this.turn);
    else this.running = false;
  };
}
