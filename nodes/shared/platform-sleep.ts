/**
 * The node bundles' stand-in for providers/platform-sleep.ts (swapped in by scripts/build.mjs):
 * waits through n8n-workflow's sleep, as n8n's community-node rules require. An abort is noticed
 * before and after the wait (n8n-workflow 2.41 has no abortable sleep).
 */
import { sleep } from 'n8n-workflow';
import { AbortedError } from '../../providers/aborted';

export async function platformSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new AbortedError();
  await sleep(Math.max(0, ms));
  if (signal?.aborted) throw new AbortedError();
}
