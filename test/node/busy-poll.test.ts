// BusyPoll keeps the event loop turning (a setImmediate always pending) while it is
// wanted, for a bounded time, and costs nothing when turned off.
import { BusyPoll } from '../../src/node/busy-poll.js';

const turnOfTheLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function untilStopped(poll: BusyPoll): Promise<void> {
  for (let i = 0; i < 1_000_000 && poll.polling; i++) await turnOfTheLoop();
}

describe('BusyPoll', () => {
  test('asks once per turn of the loop and stops as soon as it is no longer wanted', async () => {
    let asked = 0;
    const poll = new BusyPoll(() => ++asked < 5, 60_000);
    poll.start();
    expect(poll.polling).toBe(true);
    // A second start while polling does not start a second chain of turns.
    poll.start();
    await untilStopped(poll);
    expect(asked).toBe(5);
    expect(poll.polling).toBe(false);
  });

  test('stops once its time is up, however wanted', async () => {
    const poll = new BusyPoll(() => true, 5);
    const started = performance.now();
    poll.start();
    await untilStopped(poll);
    expect(poll.polling).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(5);
  });

  test('a start while polling extends the time from then', async () => {
    const poll = new BusyPoll(() => true, 20);
    poll.start();
    await new Promise((resolve) => setTimeout(resolve, 15));
    const restarted = performance.now();
    poll.start();
    await untilStopped(poll);
    expect(performance.now() - restarted).toBeGreaterThanOrEqual(20);
  });

  test('with no time given, never polls', async () => {
    let asked = 0;
    const poll = new BusyPoll(() => ++asked > 0, 0);
    poll.start();
    expect(poll.polling).toBe(false);
    await turnOfTheLoop();
    expect(asked).toBe(0);
  });
});
