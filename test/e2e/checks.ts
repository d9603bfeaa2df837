/**
 * The end-to-end checks, in order. Each asserts on the emulator's stored events or on n8n's own
 * stored execution data. `required` checks stop the run when they fail (nothing after them can
 * pass).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { N8nInstance } from './n8n';
import type { World } from './world';

export interface Ctx {
  root: string;
  world: World;
  n8n: N8nInstance;
  weeks: number;
  /** Shared between checks (e.g. credentials imported once). */
  state: Record<string, unknown>;
}

export interface Check {
  name: string;
  title: string;
  required?: boolean;
  run(ctx: Ctx): Promise<void>;
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const loadCheck: Check = {
  name: 'package-loads',
  title: 'the built package loads in n8n as an installed community package',
  required: true,
  async run({ root, n8n }) {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; n8n: { nodes: string[]; credentials: string[] } };
    assert(pkg.n8n.nodes.length > 0, 'package.json\'s n8n section lists no nodes');
    const ours = (await n8n.nodeTypes()).filter((t) => t.startsWith(`${pkg.name}.`));
    const base = ours.filter((t) => !t.endsWith('Tool'));
    console.log(`[e2e]   loaded: ${ours.join(', ')}`);
    assert(base.length === pkg.n8n.nodes.length, `n8n loaded ${base.length} node type(s) of ${pkg.name} (${base.join(', ') || 'none'}), package.json lists ${pkg.n8n.nodes.length}`);
  },
};

export { loadCheck };

