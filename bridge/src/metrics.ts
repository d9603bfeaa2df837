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
    this.define('calendar_relay_bridge_syncs_total', 'Subscription syncs into a sync target by result (ok, refused by a guard, failed)');
  }

  private define(name: string, help: string): void {
    this.counters.set(name, { help, values: new Map() });
  }

  inc(name: string, labels: Record<string, string>): void {
    const c = this.counters.get(name);
    if (!c) throw new Error(`unknown metric ${name}`);
    const key = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
    c.values.set(key, (c.values.get(key) ?? 0) + 1);
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
