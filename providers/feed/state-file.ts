/**
 * A state store kept in one JSON file, for the CLI (`stateFile:` in relay.yaml): feed validators,
 * request budgets and last good bodies survive between runs. Loaded once, written with `flush()`
 * through a temporary file + rename, so a crash never leaves half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FeedStateStore } from './read';

export class JsonFileStateStore implements FeedStateStore {
  private data: Record<string, string> = {};
  private dirty = false;

  private constructor(readonly file: string) {}

  /** Opens the file; a missing file is an empty store, an unreadable one an error. */
  static async open(file: string): Promise<JsonFileStateStore> {
    const store = new JsonFileStateStore(file);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined && text.trim() !== '') {
      const json = JSON.parse(text) as unknown;
      if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${file} is not a Calendar Relay state file (expected a JSON object)`);
      for (const [k, v] of Object.entries(json)) if (typeof v === 'string') store.data[k] = v;
    }
    return store;
  }

  get(key: string): string | undefined {
    return this.data[key];
  }

  set(key: string, value: string | undefined): void {
    if (value === undefined) delete this.data[key];
    else this.data[key] = value;
    this.dirty = true;
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.data, null, 1) + '\n', 'utf8');
    await rename(tmp, this.file);
    this.dirty = false;
  }
}
