/** The polling loop shared by the outbox dispatcher and the subscription poller. */
import type { Logger } from 'pino';
import { WorkLoop } from '../../bridge/src/work-loop';

function recordingLog() {
  const warnings: Array<[unknown, string]> = [];
  const log = { warn: (obj: unknown, msg: string) => warnings.push([obj, msg]) } as unknown as Logger;
  return { log, warnings };
}

/** A WorkLoop whose rounds are the given function. */
class TestLoop extends WorkLoop {
  constructor(private readonly round: () => Promise<number>, pollMs: number, log: Logger, failureMessage = 'x') {
    super({ pollMs: () => pollMs, log, failureMessage });
  }
  runOnce(): Promise<number> {
    return this.round();
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('WorkLoop', () => {
  test('runs rounds back to back while they handle items, then sleeps until wake()', async () => {
    const results = [2, 1, 0, 0];
    let rounds = 0;
    const { log } = recordingLog();
    const loop = new TestLoop(async () => results[rounds++] ?? 0, 60_000, log);
    loop.start();
    loop.start(); // a second start does not start a second loop
    for (let i = 0; i < 10; i++) await tick();
    expect(rounds).toBe(3); // 2, 1, then an empty round and a sleep of a minute
    loop.wake();
    for (let i = 0; i < 10; i++) await tick();
    expect(rounds).toBe(4);
    await loop.stop();
    expect(rounds).toBe(4); // stop ends the sleep without another round
  });

  test('a round that throws is logged under the given message and the loop goes on', async () => {
    let rounds = 0;
    const { log, warnings } = recordingLog();
    const loop = new TestLoop(
      async () => {
        rounds++;
        if (rounds === 1) throw new Error('database gone');
        return 0;
      },
      1,
      log,
      'outbox: claim failed',
    );
    loop.start();
    const until = Date.now() + 2000;
    while (rounds < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await loop.stop();
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toEqual([{ err: { message: 'database gone' } }, 'outbox: claim failed']);
  });

  test('stop() waits for the round in progress', async () => {
    let finish: () => void = () => undefined;
    let finished = false;
    const { log } = recordingLog();
    const loop = new TestLoop(() => new Promise<number>((r) => { finish = () => { finished = true; r(1); }; }), 60_000, log);
    loop.start();
    await tick();
    const stopped = loop.stop();
    let stopResolved = false;
    void stopped.then(() => { stopResolved = true; });
    await tick();
    expect(stopResolved).toBe(false);
    finish();
    await stopped;
    expect(finished).toBe(true);
  });
});
