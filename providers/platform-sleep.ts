/**
 * The one real timer behind every retry wait (providers/retry.ts realSleep). The n8n node bundles
 * replace this module with nodes/shared/platform-sleep.ts (n8n-workflow's sleep), because n8n's
 * community-node rules forbid timers in node code (scripts/build.mjs does the swap).
 */
import { AbortedError } from './aborted';

/** Waits `ms`; ends early, rejecting with AbortedError, when `signal` aborts. */
export function platformSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
