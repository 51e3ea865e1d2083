import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('test harness', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('harness');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('gives each test file its own empty database on a supported server', async () => {
    const rows = await db.query<{ db: string; n: string }>(
      `SELECT pg_catalog.current_database() AS db,
              (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%') AS n`,
    );
    expect(rows[0]!.db).toBe(db.name);
    expect(rows[0]!.n).toBe('0');
    expect(db.major).toBeGreaterThanOrEqual(14);
    expect(db.major).toBeLessThanOrEqual(18);
    if (process.env.ZDM_TEST_PG_VERSION && !process.env.ZDM_TEST_DATABASE_URL) {
      expect(db.major).toBe(Number(process.env.ZDM_TEST_PG_VERSION));
    }
  });
});
