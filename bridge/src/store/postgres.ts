/** PostgreSQL engine (when DATABASE_URL is set): a pg pool, one client per transaction. */
import { Pool } from 'pg';
import { SqlStore, type Query, type Row, type SqlEngine } from './sql-store';

/** An arbitrary constant shared by every bridge instance: "someone is migrating". */
const MIGRATION_LOCK_KEY = 7_314_2011;

export function openPostgresStore(url: string, opts: { max?: number } = {}): SqlStore {
  const pool = new Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client losing its server (restart, kill) must not crash the process.
  pool.on('error', () => undefined);
  const engine: SqlEngine = {
    dialect: 'postgres',
    async tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const q: Query = async (sql, params = []) => (await client.query(sql, params)).rows as Row[];
      try {
        await client.query('BEGIN');
        const out = await fn(q);
        await client.query('COMMIT');
        client.release();
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch {
          client.release(true);
        }
        throw err;
      }
    },
    async migrationLock(q) {
      await q('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    },
    async close() {
      await pool.end();
    },
  };
  return new SqlStore(engine);
}
