/**
 * Delivers outbox entries to the n8n webhook: lease a batch (store.claimOutbox), POST each,
 * mark it delivered on 2xx, else schedule a retry with exponential backoff and jitter. Each
 * delivery carries its id in `X-Relay-Delivery-Id`; a crash between the POST and the mark means
 * the entry is sent again after its lease expires, so receivers de-duplicate on that id
 * (at-least-once delivery, exactly-once effect).
 */
import type { Logger } from 'pino';
import type { OutboxConfig } from './config';
import type { OutboxEntry, Store } from './store/types';
import { signPush } from './tokens';
import type { Metrics } from './metrics';
import { WorkLoop } from './work-loop';

export interface DispatcherOptions {
  store: Store;
  config: OutboxConfig;
  instanceId: string;
  deliverySecret?: string;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
}

export function backoffMs(attempts: number, base: number, max: number, random: () => number): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

export class OutboxDispatcher extends WorkLoop {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly o: DispatcherOptions) {
    super({ pollMs: () => o.config.pollMs, log: o.log, failureMessage: 'outbox: claim failed' });
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /** One lease-and-deliver round; returns how many entries it handled. */
  async runOnce(): Promise<number> {
    const entries = await this.o.store.claimOutbox(this.now(), this.o.config.batch, this.o.config.leaseMs);
    await Promise.all(entries.map((e) => this.deliver(e)));
    return entries.length;
  }

  private async deliver(e: OutboxEntry): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-relay-delivery-id': e.deliveryId,
      'x-relay-source': e.source,
      'x-relay-instance': this.o.instanceId,
    };
    if (this.o.deliverySecret) {
      const ts = String(Math.floor(this.now() / 1000));
      headers['x-relay-timestamp'] = ts;
      headers['x-relay-signature'] = signPush(this.o.deliverySecret, ts, e.payload);
    }
    let error: string;
    try {
      const res = await fetch(e.url, { method: 'POST', headers, body: e.payload, signal: AbortSignal.timeout(this.o.config.timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        await this.o.store.markDelivered(e.id, this.now());
        this.o.metrics?.inc('calendar_relay_bridge_deliveries_total', { result: 'delivered' });
        this.o.log.debug({ deliveryId: e.deliveryId, source: e.source, attempts: e.attempts }, 'outbox: delivered');
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      error = cause?.code ?? (err as Error).name;
    }
    this.o.metrics?.inc('calendar_relay_bridge_deliveries_total', { result: 'failed' });
    const wait = backoffMs(e.attempts, this.o.config.baseBackoffMs, this.o.config.maxBackoffMs, this.random);
    this.o.log.info({ deliveryId: e.deliveryId, source: e.source, attempts: e.attempts, error, retryInMs: wait }, 'outbox: delivery failed, will retry');
    await this.o.store.markFailed(e.id, this.now() + wait, error);
  }
}
