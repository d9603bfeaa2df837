/**
 * The small persistent state syncs keep between runs — Google sync tokens, Graph delta links,
 * feed ETags and request budgets — as one string per key. The CLI backs it with a JSON file
 * (providers/feed/state-file.ts), n8n nodes with workflow static data, the bridge with its
 * database; tests use the in-memory store.
 */
export interface KeyValueStore {
  get(key: string): string | undefined | Promise<string | undefined>;
  /** `undefined` removes the key. */
  set(key: string, value: string | undefined): void | Promise<void>;
}

export class MemoryKeyValueStore implements KeyValueStore {
  private readonly data = new Map<string, string>();
  get(key: string): string | undefined {
    return this.data.get(key);
  }
  set(key: string, value: string | undefined): void {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, value);
  }
}
