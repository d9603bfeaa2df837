/**
 * The polling loop the outbox dispatcher and the subscription poller share (both extend it): run a
 * round (`runOnce`); when it handled nothing, sleep until the next poll or until `wake()`; `stop()`
 * ends the loop after the round in progress. A round that throws is logged and counts as empty.
 */
import type { Logger } from 'pino';

export interface WorkLoopOptions {
  /** How long to sleep after an empty round (ms); read before each sleep. */
  pollMs: () => number;
  log: Logger;
  /** The warning logged when a round throws, e.g. 'outbox: claim failed'. */
  failureMessage: string;
}

export abstract class WorkLoop {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly loopOptions: WorkLoopOptions) {}

  /** One round; returns how many items it handled (more than 0: run the next round at once). */
  abstract runOnce(): Promise<number>;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Something new is due (a push queued a delivery, a subscription changed): look now, not at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops after the round in progress has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (err) {
        this.loopOptions.log.warn({ err: { message: (err as Error).message } }, this.loopOptions.failureMessage);
      }
      if (handled > 0 || !this.running) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, this.loopOptions.pollMs());
      });
      clearTimeout(this.timer);
      this.wakeUp = undefined;
    }
  }
}
