/** [metric name, label text, value] per series. */
export type MetricsSnapshot = Array<[string, string, number]>;

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

/**
 * Counters for `/metrics` (Prometheus text format 0.0.4). Labels are route templates, sources
 * and results — never URLs, so no feed token can end up in a label.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();

  constructor() {
    this.define('calendar_relay_bridge_http_requests_total', 'HTTP requests by route template, method and status');
    this.define('calendar_relay_bridge_pushes_total', 'Webhook pushes by source and result (stored, unchanged, duplicate)');
    this.define('calendar_relay_bridge_deliveries_total', 'Outbox delivery attempts by result (delivered, failed)');
    this.define('calendar_relay_bridge_feed_publishes_total', 'Feed publishes by result (new_version, unchanged)');
    this.define('calendar_relay_bridge_polls_total', 'Subscription polls by result (changed, unchanged, not-modified, budget-reuse, failed)');
    this.define('calendar_relay_bridge_syncs_total', 'Subscription syncs into a sync target by result (ok, refused by a guard, failed), and removals of its events (removal_ok, removal_failed)');
  }

  private define(name: string, help: string): void {
    this.counters.set(name, { help, values: new Map() });
  }

  inc(name: string, labels: Record<string, string>): void {
    const c = this.series(name);
    const key = labelText(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + 1);
  }

  /** An incrementer for one fixed label set (the label text is built once, not per request). */
  counter(name: string, labels: Record<string, string>): () => void {
    const c = this.series(name);
    const key = labelText(labels);
    return () => {
      c.values.set(key, (c.values.get(key) ?? 0) + 1);
    };
  }

  private series(name: string): { help: string; values: Map<string, number> } {
    const c = this.counters.get(name);
    if (!c) throw new Error(`unknown metric ${name}`);
    return c;
  }

  /** The counters' values, to be summed into another process's render (`workers: N`). */
  snapshot(): MetricsSnapshot {
    const out: MetricsSnapshot = [];
    for (const [name, c] of this.counters) for (const [labels, v] of c.values) out.push([name, labels, v]);
    return out;
  }

  /** The exposition text, with the counters of `others` (other worker processes) added and the gauges read at scrape time appended. */
  render(gauges: Array<{ name: string; help: string; value: number }>, others: MetricsSnapshot[] = []): string {
    const sums = new Map<string, Map<string, number>>();
    for (const [name, c] of this.counters) sums.set(name, new Map(c.values));
    for (const snap of others) {
      for (const [name, labels, v] of Array.isArray(snap) ? snap : []) {
        const values = sums.get(name);
        if (values && typeof v === 'number') values.set(labels, (values.get(labels) ?? 0) + v);
      }
    }
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of sums.get(name) ?? []) lines.push(`${name}{${labels}} ${v}`);
    }
    for (const g of gauges) lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${g.value}`);
    return lines.join('\n') + '\n';
  }
}
