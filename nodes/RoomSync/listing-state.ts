/**
 * Where Room Sync keeps its CalDAV listing state between runs: the node's workflow static data
 * (n8n saves it after each run of an active workflow; a manual run reads it, n8n does not save it).
 * One entry per calendar and sync ID, written by the CalDAV provider: the RFC 6578 sync-token and a
 * snapshot of the owned resources (providers/caldav/adapter.ts), so the next run asks the server
 * only for what changed.
 */
import type { IDataObject } from 'n8n-workflow';
import type { KeyValueStore } from '../../providers/state';

/** Largest snapshot kept per calendar (about 1,400 synced events); a bigger calendar is listed in full each run. */
export const MAX_SNAPSHOT_CHARS = 1_000_000;
/** The CalDAV provider's key prefix (`caldav:<calendar URL>:<sync ID>`). */
const PREFIX = 'caldav:';

export class StaticDataStore implements KeyValueStore {
  private readonly touched = new Set<string>();
  /** Keys whose value was too large to keep this run. */
  readonly dropped: string[] = [];

  constructor(private readonly data: IDataObject, private readonly maxChars = MAX_SNAPSHOT_CHARS) {}

  get(key: string): string | undefined {
    this.touched.add(key);
    const v = this.data[key];
    return typeof v === 'string' ? v : undefined;
  }

  set(key: string, value: string | undefined): void {
    this.touched.add(key);
    if (value !== undefined && value.length <= this.maxChars) {
      this.data[key] = value;
      return;
    }
    if (value !== undefined) this.dropped.push(key);
    delete this.data[key];
  }

  /** Drops the state of calendars this run did not list (rooms taken out of the table, another sync ID, listing switched to full). */
  prune(): void {
    for (const k of Object.keys(this.data)) if (k.startsWith(PREFIX) && !this.touched.has(k)) delete this.data[k];
  }
}
