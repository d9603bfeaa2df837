/**
 * `npm run bench`: runs the benchmarks and prints figures and ratios against baselines measured
 * in the same run. Exit code 0 even when a target is missed (benchmarks inform, tests decide);
 * `--strict` makes a missed target exit 1.
 */
import { runParseBench, parseRssChild } from './parse.bench';
import { runExpandBench } from './expand.bench';
import { runSyncBench } from './sync.bench';
import { runQuotaBench } from './quota.bench';
import { runHistoryBench } from './history.bench';
import { runCalDavBench } from './caldav.bench';
import { isEmulatorWorker, serveEmulatorWorker } from './emulator-worker';

/** `explicit`: runs only when named (`npm run bench -- caldav`). */
type Bench = { name: string; run: () => boolean | Promise<boolean>; explicit?: boolean };
const benches: Bench[] = [
  { name: 'parse', run: runParseBench },
  { name: 'expand', run: runExpandBench },
  { name: 'sync', run: () => runSyncBench(__filename) },
  { name: 'quota', run: runQuotaBench },
  { name: 'history', run: () => runHistoryBench(__filename) },
  { name: 'caldav', run: () => runCalDavBench(), explicit: true },
];

async function main(): Promise<void> {
  // The sync benchmark starts the emulator in a worker thread running this same bundle.
  if (isEmulatorWorker()) return serveEmulatorWorker();
  if (process.argv.includes('--rss-child')) {
    parseRssChild();
    return;
  }
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  let ok = true;
  for (const b of benches) {
    if (only.length ? !only.includes(b.name) : b.explicit) continue;
    ok = (await b.run()) && ok;
  }
  console.log(ok ? '\nall benchmark targets met' : '\nsome benchmark targets missed (see MISS lines)');
  if (!ok && process.argv.includes('--strict')) process.exitCode = 1;
}

void main();
