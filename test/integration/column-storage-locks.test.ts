/**
 * The locks the plan declares for a column's storage strategy and compression method, proven from
 * pg_locks (test/support/observed-locks.ts): `ALTER COLUMN … SET STORAGE` and `SET COMPRESSION` take
 * ACCESS EXCLUSIVE on the table (measured on PostgreSQL 14 to 18; `SET STORAGE` may add a TOAST
 * table), and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { useLockScenarios } from '../support/observed-locks.js';

const LIVE = `CREATE TABLE t (id int PRIMARY KEY, body text, blob bytea);
  INSERT INTO t SELECT g, repeat('x', 3000), 'b' FROM generate_series(1, 500) g;`;
const desired = (body: string, blob: string) => `    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
          body: { type: text${body} }
          blob: { type: bytea${blob} }
        primaryKey: { columns: [id] }
`;

describe('locks of column storage and compression steps, from pg_locks', () => {
  const s = useLockScenarios('column storage locks');

  it.for([
    ['set storage and compression', LIVE, desired(', storage: external', ', compression: pglz'), 2],
    [
      'change storage, remove compression',
      `${LIVE} ALTER TABLE t ALTER COLUMN body SET STORAGE external; ALTER TABLE t ALTER COLUMN blob SET COMPRESSION pglz;`,
      desired(', storage: main', ''),
      2,
    ],
  ] as const)('%s: ACCESS EXCLUSIVE on the table alone', async ([name, before, want, steps]) => {
    const { observed } = await s.scenario(name, before, want);
    expect(observed).toHaveLength(steps);
    for (const o of observed) {
      expect(o.step).toMatch(/set the (storage|compression) of public\.t\.(body|blob)/);
      expect(o.declared, o.step).toEqual(['ACCESS EXCLUSIVE on public.t']);
      expect(o.held, o.step).toEqual(o.declared);
    }
  });

  it('going back to the type default storage: SET STORAGE DEFAULT from PostgreSQL 16, refused before', async () => {
    const before = `${LIVE} ALTER TABLE t ALTER COLUMN body SET STORAGE external;`;
    if (s.db().major >= 16) {
      const { observed } = await s.scenario('storage default', before, desired('', ''));
      expect(observed.map((o) => [o.step.replace(/^\S+ /, ''), o.held])).toEqual([
        [
          "set the storage of public.t.body to its type's default (values written from now on)",
          ['ACCESS EXCLUSIVE on public.t'],
        ],
      ]);
      const r = await s
        .db()
        .query<{ s: string }>(
          `SELECT attstorage::text AS s FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'body'`,
        );
      expect(r[0]!.s).toBe('x');
    } else {
      await expect(s.scenario('storage default', before, desired('', ''))).rejects.toThrow(/SET STORAGE DEFAULT/);
    }
  });
});
