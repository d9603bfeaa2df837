/**
 * The real-n8n end-to-end run (started by scripts/n8n/e2e.mjs under Node 24). One fresh n8n user
 * folder with the built package installed as a community package; the emulator and a feed server
 * on loopback; the example workflows from workflows/ imported as they are (only their example
 * URLs are pointed at the feed server, see workflows.ts) and executed by n8n itself. Every check
 * asserts on the emulator's stored events (or on n8n's stored execution data), never on log text.
 * Prints the wall time of each check; exits 1 on any failure.
 */
import { N8nInstance, type N8nInstall } from './n8n';
import { startWorld, fixtureShiftWeeks, type World } from './world';
import { loadCheck, type Check, type Ctx } from './checks';
import { EXAMPLE_CHECKS } from './examples';
import { caldavCheck } from './caldav';

const CHECKS: Check[] = [loadCheck, ...EXAMPLE_CHECKS, caldavCheck];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const keep = args.includes('--keep');
  const onlyArg = args.indexOf('--only');
  const only = onlyArg !== -1 ? new Set(args[onlyArg + 1].split(',')) : undefined;
  const root = process.env.CALENDAR_RELAY_ROOT ?? process.cwd();
  const install: N8nInstall = {
    node: mustEnv('CALENDAR_RELAY_N8N_NODE'),
    n8nMain: mustEnv('CALENDAR_RELAY_N8N_MAIN'),
    n8nDir: mustEnv('CALENDAR_RELAY_N8N_DIR'),
  };
  const unknown = only ? [...only].filter((n) => !CHECKS.some((c) => c.name === n)) : [];
  if (unknown.length) throw new Error(`--only: no check named ${unknown.join(', ')} (checks: ${CHECKS.map((c) => c.name).join(', ')})`);

  let world: World | undefined;
  let n8n: N8nInstance | undefined;
  const results: Array<{ name: string; ok: boolean; ms: number; error?: string }> = [];
  try {
    world = await startWorld();
    n8n = await N8nInstance.create(install, root);
    console.log(`[e2e] emulator ${world.emu.url}, feeds ${world.feeds.url}, n8n user folder ${n8n.userFolder}, fixtures moved by ${fixtureShiftWeeks()} week(s)`);
    const ctx: Ctx = { root, world, n8n, weeks: fixtureShiftWeeks(), state: {} };
    for (const check of CHECKS) {
      if (only && !only.has(check.name)) continue;
      const t0 = Date.now();
      process.stdout.write(`[e2e] ${check.name}: ${check.title}\n`);
      try {
        await check.run(ctx);
        results.push({ name: check.name, ok: true, ms: Date.now() - t0 });
        console.log(`[e2e]   ok   ${check.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        results.push({ name: check.name, ok: false, ms: Date.now() - t0, error: msg });
        console.log(`[e2e]   FAIL ${check.name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${msg}`);
        if (check.required) break;
      }
    }
  } finally {
    await n8n?.stop();
    await world?.close();
    if (n8n && !keep) n8n.dispose();
    else if (n8n) console.log(`[e2e] kept ${n8n.userFolder}`);
  }
  console.log('\n[e2e] wall time per check:');
  for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(28)} ${(r.ms / 1000).toFixed(1).padStart(6)} s${r.error ? `  ${r.error.split('\n')[0]}` : ''}`);
  const failed = results.filter((r) => !r.ok).length;
  const skipped = CHECKS.filter((c) => !only || only.has(c.name)).length - results.length;
  console.log(`\ne2e: ${results.length - failed} passed, ${failed} failed, ${skipped} skipped`);
  return failed === 0 && skipped === 0 ? 0 : 1;
}

function mustEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through scripts/n8n/e2e.mjs`);
  return v;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[e2e] ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
