/** Timing helpers for benchmarks: warm-up, then the median of several runs (machines are noisy). */
import { performance } from 'node:perf_hooks';

export function medianMs(fn: () => unknown, runs = 5, warmups = 1): number {
  for (let i = 0; i < warmups; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (global.gc) global.gc();
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function medianMsAsync(fn: () => Promise<unknown>, runs = 3, warmups = 0): Promise<number> {
  for (let i = 0; i < warmups; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export interface Check {
  name: string;
  value: number;
  limit: number;
  /** 'max': value must be ≤ limit; 'min': value must be ≥ limit. */
  kind: 'max' | 'min';
  unit?: string;
}

export function report(title: string, rows: Array<[string, string]>, checks: Check[]): boolean {
  console.log(`\n## ${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
  let ok = true;
  for (const c of checks) {
    const pass = c.kind === 'max' ? c.value <= c.limit : c.value >= c.limit;
    ok &&= pass;
    const cmp = c.kind === 'max' ? '≤' : '≥';
    console.log(`  [${pass ? 'PASS' : 'MISS'}] ${c.name}: ${c.value.toFixed(2)}${c.unit ?? ''} (target ${cmp} ${c.limit}${c.unit ?? ''})`);
  }
  return ok;
}
