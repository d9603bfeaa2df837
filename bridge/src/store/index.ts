/** Picks the engine: PostgreSQL when a database URL is given, else SQLite under the data directory. */
import { join } from 'node:path';
import type { Store } from './types';
import { openSqliteStore } from './sqlite';
import { openPostgresStore } from './postgres';

export type { Store } from './types';

export async function openStore(opts: { databaseUrl?: string; dataDir: string }): Promise<Store> {
  const store = opts.databaseUrl ? openPostgresStore(opts.databaseUrl) : openSqliteStore(join(opts.dataDir, 'bridge.sqlite'));
  await store.migrate();
  return store;
}
