/**
 * One fresh database per test file on the server global-setup.ts provides.
 *
 *   const db = await freshDatabase('introspect');   // in beforeAll
 *   await db.exec('CREATE TABLE …');
 *   … db.url …
 *   await db.drop();                                // in afterAll
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A connected client on the database, for setup and assertions. */
  readonly client: pg.Client;
  exec(sql: string): Promise<void>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  /** A new, separate connection (closed by the caller). */
  connect(): Promise<pg.Client>;
  /** Server major version, e.g. 18. */
  readonly major: number;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The major version of the test server (18, 14…), read on its admin database. */
export async function adminServerMajor(): Promise<number> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    const r = await c.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`);
    return Math.floor(Number(r.rows[0]!.v) / 10000);
  } finally {
    await c.end();
  }
}

export async function freshDatabase(label: string): Promise<TestDatabase> {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const name = `zdm_t_${slug}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`);
  const url = withDatabase(adminUrl(), name);
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  const ver = await client.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`);
  const major = Math.floor(Number(ver.rows[0]!.v) / 10000);
  return {
    name,
    url,
    client,
    major,
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async (sql, values) => (await client.query(sql, values)).rows,
    connect: async () => {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => {});
      await c.connect();
      return c;
    },
    drop: async () => {
      await client.end().catch(() => {});
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
