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

  /** The exposition text, with the gauges read at scrape time appended. */
  render(gauges: Array<{ name: string; help: string; value: number }>): string {
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of c.values) lines.push(`${name}{${labels}} ${v}`);
    }
    for (const g of gauges) lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${g.value}`);
    return lines.join('\n') + '\n';
  }
}
