/**
 * SQLite engine (the default): one file under the data directory, WAL journal, synchronous=FULL
 * so a committed push survives a crash of the process or the machine. better-sqlite3 is
 * synchronous; transactions are serialised through a promise chain so two requests never
 * interleave inside one BEGIN … COMMIT.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqlStore, type Query, type Row, type SqlEngine } from './sql-store';

/** `$1 … $n` (PostgreSQL style, possibly repeated) → `?` with the parameters in order of use. */
export function toSqliteParams(sql: string, params: unknown[]): { sql: string; params: unknown[] } {
  const ordered: unknown[] = [];
  const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    ordered.push(params[Number(n) - 1]);
    return '?';
  });
  return { sql: text, params: ordered };
}

export function openSqliteStore(file: string): SqlStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const statements = new Map<string, Database.Statement>();
  const query: Query = async (sql, params = []) => {
    const p = toSqliteParams(sql, params);
    let stmt = statements.get(p.sql);
    if (!stmt) {
      stmt = db.prepare(p.sql);
      statements.set(p.sql, stmt);
    }
    if (stmt.reader) return stmt.all(...p.params) as Row[];
    stmt.run(...p.params);
    return [];
  };
  let queue: Promise<unknown> = Promise.resolve();
  const engine: SqlEngine = {
    dialect: 'sqlite',
    tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
      const run = async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(query);
          db.exec('COMMIT');
          return out;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    async migrationLock() {
      // BEGIN IMMEDIATE already holds SQLite's write lock.
    },
    async close() {
      await queue;
      db.close();
    },
  };
  return new SqlStore(engine);
}
