/**
 * Server normalization of a desired state (src/workflow/normalize.ts) sends only what differs from
 * the live schema through the server, in transactions of a bounded number of tables, and still
 * reports every definition PostgreSQL rejects, wherever it sits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/connection.js';
import { introspect } from '../../src/introspect/index.js';
import { DEPENDENCIES_SQL, RELATIONS_SQL } from '../../src/introspect/queries.js';
import { canonicalize } from '../../src/model/canonical.js';
import { withoutJournal } from '../../src/model/objects.js';
import type { DatabaseModel, Table } from '../../src/model/types.js';
import { NormalizeError, normalizeDesired } from '../../src/workflow/normalize.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { table } from '../unit/plan/builders.js';

let db: TestDatabase;
let live: DatabaseModel;

/**
 * The client, with every statement it is sent recorded (those sent together as one query, one by
 * one), and every query.
 */
function recording(c: Queryable): { client: Queryable; statements: string[]; queries: string[] } {
  const statements: string[] = [];
  const queries: string[] = [];
  return {
    statements,
    queries,
    client: {
      query: (text, values) => {
        queries.push(text);
        statements.push(...text.split(';\n'));
        return c.query(text, values);
      },
    },
  };
}

const createTables = (statements: readonly string[]) => statements.filter((s) => /^CREATE TABLE /.test(s));

function withTables(m: DatabaseModel, edit: (tables: readonly Table[]) => Table[]): DatabaseModel {
  return { ...m, schemas: m.schemas.map((s) => (s.name === 'public' ? { ...s, tables: edit(s.tables) } : s)) };
}

const blank = (name: string, columns: Table['columns']): Table => table(name, columns);

beforeAll(async () => {
  db = await freshDatabase('normalize');
  await db.exec(`
    CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(10,2) NOT NULL CHECK (amount > 0), note varchar(20));
    CREATE INDEX orders_recent ON orders (id DESC) WHERE note IS NOT NULL;
    CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
    CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
  `);
  live = withoutJournal(await introspect(db.client));
});

afterAll(async () => {
  await db?.drop();
});

describe('normalizeDesired', () => {
  it('sends no table written exactly as the live one through the server, and returns it as it is', async () => {
    const { client, statements } = recording(db.client);
    const out = await normalizeDesired(client, live, live);
    expect(createTables(statements)).toEqual([]);
    // Nothing created, nothing to read back.
    expect(statements).not.toContain(RELATIONS_SQL);
    expect(canonicalize(out)).toEqual(canonicalize(live));
  });

  it('normalizes only the tables that differ from the live ones', async () => {
    const desired = withTables(live, (tables) => [
      ...tables.map((t) =>
        t.name === 'orders' ? { ...t, checks: t.checks.map((c) => ({ ...c, expression: 'amount > 0' })) } : t,
      ),
      blank('refunds', [{ kind: 'column', name: 'amount', type: 'numeric(10,2)', nullable: false }]),
    ]);
    const { client, statements } = recording(db.client);
    const out = await normalizeDesired(client, desired, live);
    // orders (its check is written differently) and the new table; customers and audit are not sent.
    expect(createTables(statements)).toHaveLength(2);
    // Read back: the scratch schema's tables, not the whole database's dependency graph.
    expect(statements).toContain(RELATIONS_SQL);
    expect(statements).not.toContain(DEPENDENCIES_SQL);
    expect(canonicalize(withTables(out, (ts) => ts.filter((t) => t.name !== 'refunds')))).toEqual(canonicalize(live));
    const refunds = out.schemas.find((s) => s.name === 'public')?.tables.find((t) => t.name === 'refunds');
    expect(refunds?.columns[0]?.type).toBe('numeric(10,2)');
  });

  it('sends every table when asked to (round-trip tests), with the same result', async () => {
    const { client, statements } = recording(db.client);
    const out = await normalizeDesired(client, live, live, { everything: true });
    expect(createTables(statements)).toHaveLength(3);
    expect(canonicalize(out)).toEqual(canonicalize(live));
  });

  it('works in transactions of at most tablesPerTransaction tables, and rolls every one back', async () => {
    const added = Array.from({ length: 5 }, (_, i) =>
      blank(`new_${i}`, [{ kind: 'column', name: 'v', type: 'varchar(10)', nullable: true, default: "'x'" }]),
    );
    const desired = withTables(live, (tables) => [...tables, ...added]);
    const { client, statements, queries } = recording(db.client);
    const out = await normalizeDesired(client, desired, live, { tablesPerTransaction: 2 });
    expect(statements.filter((s) => s === 'BEGIN')).toHaveLength(3);
    expect(statements.filter((s) => s === 'ROLLBACK')).toHaveLength(3);
    expect(createTables(statements)).toHaveLength(5);
    // A transaction's tables, and what they hold, go to the server in one round trip.
    expect(queries.filter((q) => /^CREATE TABLE /m.test(q))).toHaveLength(3);
    const got = out.schemas.find((s) => s.name === 'public')?.tables.filter((t) => t.name.startsWith('new_')) ?? [];
    expect(got.map((t) => [t.name, t.columns[0]?.type, t.columns[0]?.default])).toEqual(
      added.map((t) => [t.name, 'character varying(10)', "'x'::character varying"]),
    );
    const left = await db.query(`SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE 'zdm_normalize_%'`);
    expect(left).toEqual([]);
  });

  it('when the server rejects one definition of a transaction, reports that one alone, and normalizes the rest', async () => {
    const added = [
      blank('fine_a', [{ kind: 'column', name: 'v', type: 'varchar(10)', nullable: true }]),
      {
        ...blank('checked', [{ kind: 'column', name: 'v', type: 'integer', nullable: true }]),
        checks: [
          {
            kind: 'check' as const,
            name: 'bad_check',
            expression: 'no_such_column > 0',
            noInherit: false,
            valid: true,
          },
        ],
      },
      blank('fine_b', [{ kind: 'column', name: 'v', type: 'varchar(20)', nullable: true }]),
    ];
    const desired = withTables(live, (tables) => [...tables, ...added]);
    const err = await normalizeDesired(db.client, desired, live).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NormalizeError);
    expect((err as NormalizeError).issues.map((i) => [i.path, i.message])).toEqual([
      ['schemas.public.tables.checked.checks.bad_check', 'column "no_such_column" does not exist'],
    ]);
    const fine = await normalizeDesired(
      db.client,
      withTables(live, (tables) => [...tables, added[0]!, added[2]!]),
      live,
    );
    const got = fine.schemas.find((s) => s.name === 'public')?.tables.filter((t) => t.name.startsWith('fine_')) ?? [];
    expect(got.map((t) => t.columns[0]?.type)).toEqual(['character varying(10)', 'character varying(20)']);
  });

  it('reports the rejected definitions of every transaction, not only the first', async () => {
    const bad = (name: string, type: string) => blank(name, [{ kind: 'column', name: 'v', type, nullable: true }]);
    const desired = withTables(live, (tables) => [
      ...tables,
      bad('first_bad', 'no_such_type'),
      bad('fine_1', 'text'),
      bad('fine_2', 'text'),
      bad('second_bad', 'also_missing'),
    ]);
    const err = await normalizeDesired(db.client, desired, live, { tablesPerTransaction: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NormalizeError);
    expect((err as NormalizeError).issues.map((i) => [i.path, i.message])).toEqual([
      ['schemas.public.tables.first_bad', 'type "no_such_type" does not exist'],
      ['schemas.public.tables.second_bad', 'type "also_missing" does not exist'],
    ]);
  });
});
