/**
 * Drives a real n8n (installed by scripts/n8n/install.mjs into a cache outside the repo) the way
 * a user's instance runs: a fresh N8N_USER_FOLDER with its own SQLite database, the built package
 * installed as a community package under `.n8n/nodes/node_modules/<name>`, credentials and
 * workflows imported with n8n's CLI, workflows run with `n8n execute`, and polling triggers run by
 * `n8n start` after `publish:workflow`, their executions read back from n8n's database.
 * This file runs under Node 24 (see scripts/n8n/e2e.mjs), so it can load n8n's sqlite3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port';

export interface N8nInstall {
  /** Node 24 binary. */
  node: string;
  /** n8n's bin/n8n script. */
  n8nMain: string;
  /** Folder whose node_modules holds n8n (and sqlite3, flatted). */
  n8nDir: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}


/** The items a node produced in an execution's run data (first run, first output unless given). */
export function nodeItems(runData: RunData, nodeName: string, output = 0, run = 0): Record<string, unknown>[] {
  const runs = runData[nodeName];
  if (!runs) throw new Error(`node "${nodeName}" did not run (ran: ${Object.keys(runData).join(', ') || 'nothing'})`);
  const r = runs[run];
  if (!r) throw new Error(`node "${nodeName}" has no run #${run}`);
  if (r.error) throw new Error(`node "${nodeName}" failed: ${r.error.message}`);
  const items = r.data?.main?.[output] ?? [];
  return items.map((i) => i.json);
}

export type RunData = Record<string, Array<{ error?: { message: string }; data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> } }>>;

export interface ExecutionRecord {
  id: number;
  workflowId: string;
  mode: string;
  status: string;
  runData: RunData;
  error?: string;
}

export class N8nInstance {
  readonly userFolder: string;
  readonly env: NodeJS.ProcessEnv;
  private server?: ChildProcess;
  private serverLog = '';

  private constructor(readonly install: N8nInstall, readonly packageName: string, brokerPort: number) {
    this.userFolder = mkdtempSync(join(tmpdir(), 'calendar-relay-n8n-e2e-'));
    const nodeDir = join(install.node, '..');
    this.env = {
      ...process.env,
      PATH: `${nodeDir}:${process.env.PATH ?? ''}`,
      N8N_USER_FOLDER: this.userFolder,
      // One key per fresh user folder (n8n encrypts imported credentials with it).
      N8N_ENCRYPTION_KEY: randomBytes(24).toString('base64url'),
      N8N_DIAGNOSTICS_ENABLED: 'false',
      N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
      N8N_TEMPLATES_ENABLED: 'false',
      N8N_PERSONALIZATION_ENABLED: 'false',
      N8N_RUNNERS_BROKER_PORT: String(brokerPort),
      DB_TYPE: 'sqlite',
      // No folder with node_modules: community packages come from .n8n/nodes only.
      N8N_CUSTOM_EXTENSIONS: '',
    };
  }

  /**
   * A fresh instance with the built package installed as a user installs a community package:
   * package.json + dist copied to `.n8n/nodes/node_modules/<name>`. The package's peer dependency
   * n8n-workflow is linked next to it from the n8n install, as npm does for peers.
   */
  static async create(install: N8nInstall, packageRoot: string): Promise<N8nInstance> {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string };
    const inst = new N8nInstance(install, pkg.name, await freePort());
    const nodesModules = join(inst.userFolder, '.n8n', 'nodes', 'node_modules');
    const target = join(nodesModules, pkg.name);
    mkdirSync(target, { recursive: true });
    cpSync(join(packageRoot, 'package.json'), join(target, 'package.json'));
    cpSync(join(packageRoot, 'dist'), join(target, 'dist'), { recursive: true });
    const peer = join(install.n8nDir, 'node_modules', 'n8n-workflow');
    if (existsSync(peer)) symlinkSync(peer, join(nodesModules, 'n8n-workflow'), 'dir');
    writeFileSync(join(inst.userFolder, '.n8n', 'nodes', 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true, dependencies: { [pkg.name]: `file:./node_modules/${pkg.name}` } }, null, 2));
    return inst;
  }

  /** Runs `n8n <args>` to completion. Asynchronous: the emulator and the feed server answer from
   * this process's event loop while n8n runs. */
  cli(args: string[], timeoutMs = 180_000): Promise<CommandResult> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.install.node, [this.install.n8nMain, ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => void (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr: signal ? `${stderr}\n(killed by ${signal} after ${timeoutMs / 1000} s)` : stderr, ms: Date.now() - t0 });
      });
    });
  }

  private async cliOk(args: string[]): Promise<CommandResult> {
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`n8n ${args.join(' ')} exited ${r.code}\n${tail(r.stdout + r.stderr)}`);
    return r;
  }

  /** Loaded node types (`n8n export:nodes`), to prove the package loads. */
  async nodeTypes(): Promise<string[]> {
    const file = join(this.userFolder, 'node-types.json');
    await this.cliOk(['export:nodes', `--output=${file}`]);
    const types = JSON.parse(readFileSync(file, 'utf8')) as Array<{ name: string }>;
    return types.map((t) => t.name);
  }

  async importCredentials(creds: Array<{ id: string; name: string; type: string; data: Record<string, unknown> }>): Promise<void> {
    const file = join(this.userFolder, 'credentials.json');
    writeFileSync(file, JSON.stringify(creds, null, 2));
    await this.cliOk(['import:credentials', `--input=${file}`]);
    rmSync(file);
  }

  async importWorkflow(workflow: { id: string }): Promise<void> {
    const file = join(this.userFolder, `workflow-${workflow.id}.json`);
    writeFileSync(file, JSON.stringify(workflow, null, 2));
    await this.cliOk(['import:workflow', `--input=${file}`]);
  }

  /** Imports several workflows with one command (`import:workflow --separate`): n8n starts once. */
  async importWorkflows(workflows: Array<{ id: string }>): Promise<void> {
    const dir = join(this.userFolder, 'workflows-to-import');
    mkdirSync(dir, { recursive: true });
    for (const wf of workflows) writeFileSync(join(dir, `${wf.id}.json`), JSON.stringify(wf, null, 2));
    await this.cliOk(['import:workflow', '--separate', `--input=${dir}`]);
    rmSync(dir, { recursive: true, force: true });
  }

  /** `n8n execute --id --rawOutput`: the run data, or the failure with n8n's own message. */
  async execute(workflowId: string): Promise<{ ok: boolean; runData: RunData; ms: number; error?: string; raw: CommandResult }> {
    const r = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput']);
    const lines = r.stdout.split('\n');
    // Log lines come before (and sometimes after) the JSON: take the first "{" line to the last "}" line.
    const first = lines.findIndex((l) => l.startsWith('{'));
    let last = lines.length - 1;
    while (last > first && !lines[last].startsWith('}')) last--;
    let runData: RunData = {};
    let error: string | undefined;
    if (first !== -1 && last > first) {
      try {
        const parsed = JSON.parse(lines.slice(first, last + 1).join('\n')) as { data?: { resultData?: { runData?: RunData; error?: { message: string } } } };
        runData = parsed.data?.resultData?.runData ?? {};
        error = parsed.data?.resultData?.error?.message;
      } catch (e) {
        error = `unparsable output: ${(e as Error).message}`;
      }
    }
    if (r.code !== 0 && !error) error = tail(r.stdout + r.stderr);
    return { ok: r.code === 0 && !error, runData, ms: r.ms, error, raw: r };
  }

  async publish(workflowId: string): Promise<void> {
    await this.cliOk(['publish:workflow', `--id=${workflowId}`]);
  }

  /** `n8n start` on loopback; activation polls every published trigger once at start. */
  async start(): Promise<void> {
    if (this.server) throw new Error('n8n is already running');
    const port = await freePort();
    this.serverLog = '';
    const child = spawn(this.install.node, [this.install.n8nMain, 'start'], {
      env: { ...this.env, N8N_PORT: String(port), N8N_LISTEN_ADDRESS: '127.0.0.1', N8N_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => void (this.serverLog += d.toString()));
    child.stderr!.on('data', (d: Buffer) => void (this.serverLog += d.toString()));
    this.server = child;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`n8n start exited ${child.exitCode}\n${tail(this.serverLog)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`n8n start not healthy after 90 s\n${tail(this.serverLog)}`);
  }

  async stop(): Promise<void> {
    const child = this.server;
    if (!child) return;
    this.server = undefined;
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  get log(): string {
    return this.serverLog;
  }

  /** Executions of a workflow stored in n8n's SQLite database, oldest first, data un-flatted. */
  async executions(workflowId: string): Promise<ExecutionRecord[]> {
    const req = createRequire(join(this.install.n8nDir, 'package.json'));
    const sqlite3 = req('sqlite3') as { Database: new (file: string, mode: number, cb: (e: Error | null) => void) => SqliteDb; OPEN_READONLY: number };
    const { parse } = req('flatted') as { parse: (s: string) => unknown };
    const file = join(this.userFolder, '.n8n', 'database.sqlite');
    const db = await new Promise<SqliteDb>((resolve, reject) => {
      const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (e) => (e ? reject(e) : resolve(d)));
    });
    try {
      const rows = await new Promise<Array<{ id: number; workflowId: string; mode: string; status: string; data: string }>>((resolve, reject) =>
        db.all(
          'SELECT e.id, e.workflowId, e.mode, e.status, d.data FROM execution_entity e JOIN execution_data d ON d.executionId = e.id WHERE e.workflowId = ? ORDER BY e.id',
          [workflowId],
          (err, r) => (err ? reject(err) : resolve(r as never)),
        ));
      return rows.map((row) => {
        const data = parse(row.data) as { resultData?: { runData?: RunData; error?: { message: string } } };
        return { id: row.id, workflowId: row.workflowId, mode: row.mode, status: row.status, runData: data.resultData?.runData ?? {}, error: data.resultData?.error?.message };
      });
    } finally {
      await new Promise<void>((r) => db.close(() => r()));
    }
  }

  /** Waits until the workflow has more than `after` finished executions; returns the new ones. */
  async waitForExecutions(workflowId: string, after: number, timeoutMs = 60_000): Promise<ExecutionRecord[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const all = (await this.executions(workflowId)).filter((e) => e.status !== 'running' && e.status !== 'new');
      if (all.length > after) return all.slice(after);
      await sleep(500);
    }
    throw new Error(`no new execution of workflow ${workflowId} within ${timeoutMs / 1000} s\n${tail(this.serverLog)}`);
  }

  dispose(): void {
    rmSync(this.userFolder, { recursive: true, force: true });
  }
}

interface SqliteDb {
  all(sql: string, params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): void;
  close(cb: () => void): void;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
