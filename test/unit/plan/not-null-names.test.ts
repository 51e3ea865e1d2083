/**
 * Names of NOT NULL constraints (PostgreSQL 18): the desired state's `notNullName` /
 * `notNullNames`, how the diff sees them, the SQL that creates and renames them, and the refusals
 * (before PostgreSQL 18; a partition's inherited constraint).
 */
import { describe, expect, test } from 'vitest';
import { parseDesiredState, writeDesiredState } from '../../../src/desired/index.js';
import { diffModels } from '../../../src/diff/diff.js';
import { defaultNotNullName, notNullNamesIn } from '../../../src/model/names.js';
import type { DatabaseModel, Partition, Table } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, id, partition, range, table, tables, withTable } from './builders.js';
import { allSql, flat, plan } from './helpers.js';

const PG18 = { serverVersion: 'PostgreSQL 18.1' };

const orders = table('orders', [id(), col('total', 'integer', { nullable: false }), col('note', 'text')]);
const named = (t: Table, column: string, name: string): Table => ({
  ...t,
  columns: t.columns.map((c) => (c.name !== column ? c : { ...c, notNullName: name })),
});
/** The one table of a parsed desired state. */
function onlyTable(m: DatabaseModel): Table {
  const t = m.schemas[0]?.tables[0];
  if (t === undefined) throw new Error('no table');
  return t;
}
const column = (t: Table, name: string) => t.columns.find((c) => c.name === name);

const payment = table(
  'payment',
  [id(), col('amount', 'numeric', { nullable: false }), col('at', 'date', { nullable: false })],
  {
    partitionBy: { strategy: 'range', columns: ['at'] },
    partitions: [partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"))],
  },
);
const withPartitions = (t: Table, partitions: readonly Partition[]): Table => ({ ...t, partitions });

function planningError(live: DatabaseModel, desired: DatabaseModel, serverVersion: string): PlanningError {
  try {
    plan(live, desired, { serverVersion });
  } catch (e) {
    if (e instanceof PlanningError) return e;
    throw e;
  }
  throw new Error('planned without error');
}

describe('default names', () => {
  test('`<table>_<column>_not_null`, clipped to 63 bytes as PostgreSQL clips it', () => {
    expect(defaultNotNullName('orders', 'total')).toBe('orders_total_not_null');
    expect(defaultNotNullName('t'.repeat(60), 'c')).toBe(`${'t'.repeat(52)}_c_not_null`);
  });

  test('a partition takes its parent’s names, but where its notNullNames says otherwise', () => {
    const t = withPartitions(named(payment, 'amount', 'payment_amount_required'), [
      partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"), {
        notNullNames: { at: 'payment_p1_at_not_null' },
      }),
    ]);
    expect(Object.fromEntries(notNullNamesIn(t, { schema: 'public', name: 'payment_p1' }) ?? [])).toEqual({
      id: 'payment_id_not_null',
      amount: 'payment_amount_required',
      at: 'payment_p1_at_not_null',
    });
    expect(notNullNamesIn(t, { schema: 'public', name: 'elsewhere' })).toBeUndefined();
  });
});

describe('the desired state', () => {
  const doc = (columns: string, partitions = '') =>
    `version: 1\nschemas:\n  public:\n    tables:\n      payment:\n        columns:\n${columns}${partitions}`;
  const cols = (amount: string) =>
    `          id: { type: bigint, nullable: false }\n          amount: { type: numeric, nullable: false${amount} }\n          at: { type: date, nullable: false }\n`;
  const parts = (names: string) =>
    `        partitionBy: { strategy: range, columns: [at] }\n        partitions:\n          payment_p1: { from: ['2022-01-01'], to: ['2022-02-01']${names} }\n`;

  test('notNullName is kept when it is not the default, dropped when it is', () => {
    const m = parseDesiredState(doc(cols(', notNullName: amount_required')), 's.yaml').model;
    expect(column(onlyTable(m), 'amount')?.notNullName).toBe('amount_required');
    const d = parseDesiredState(doc(cols(', notNullName: payment_amount_not_null')), 's.yaml').model;
    expect(column(onlyTable(d), 'amount')).not.toHaveProperty('notNullName');
  });

  test('a nullable column has no NOT NULL constraint to name', () => {
    expect(() =>
      parseDesiredState(
        doc(cols('').replace('amount: { type: numeric, nullable: false', 'amount: { type: numeric, notNullName: x')),
        's.yaml',
      ),
    ).toThrow(/nullable column has no NOT NULL constraint to name/);
  });

  test("partition notNullNames: the parent's names are dropped, a column that is not NOT NULL is refused", () => {
    const m = parseDesiredState(
      doc(cols(''), parts(', notNullNames: { amount: payment_p1_amount_not_null, at: payment_at_not_null }')),
      's.yaml',
    ).model;
    expect(onlyTable(m).partitions[0]?.notNullNames).toEqual({ amount: 'payment_p1_amount_not_null' });
    expect(() => parseDesiredState(doc(cols(''), parts(', notNullNames: { nope: x }')), 's.yaml')).toThrow(
      /no NOT NULL column `nope`/,
    );
  });

  test('written back only where the model holds a name: a schema without one is written as before', () => {
    const plain = writeDesiredState(tables(payment));
    expect(plain).not.toContain('notNull');
    const text = writeDesiredState(
      tables(
        withPartitions(named(payment, 'amount', 'amount_required'), [
          partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"), { notNullNames: { at: 'p1_at' } }),
        ]),
      ),
    );
    expect(text).toContain('notNullName: amount_required');
    expect(text).toContain('notNullNames: { at: p1_at }');
    const back = onlyTable(parseDesiredState(text, 's.yaml').model);
    expect(column(back, 'amount')?.notNullName).toBe('amount_required');
    expect(back.partitions[0]?.notNullNames).toEqual({ at: 'p1_at' });
  });
});

describe('diff', () => {
  test('a name alone differs: alterColumn', () => {
    const changes = diffModels(tables(orders), tables(named(orders, 'total', 'total_required')));
    expect(changes.map((c) => c.kind)).toEqual(['alterColumn']);
  });

  test("an existing partition's names differ: not supported (PostgreSQL cannot rename an inherited constraint)", () => {
    const desired = tables(
      withPartitions(payment, [
        partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"), { notNullNames: { amount: 'p1_amount' } }),
      ]),
    );
    const changes = diffModels(tables(payment), desired);
    expect(changes).toEqual([
      expect.objectContaining({
        kind: 'unsupported',
        path: 'schemas.public.tables.payment.partitions.payment_p1.notNullNames',
        reason: expect.stringMatching(/cannot rename a NOT NULL constraint a partition inherits/),
      }),
    ]);
  });
});

describe('plans on PostgreSQL 18', () => {
  test('only the name differs: one RENAME CONSTRAINT in expand, ACCESS EXCLUSIVE for an instant', () => {
    const r = plan(tables(orders), tables(named(orders, 'total', 'total_required')), PG18);
    expect(flat(r).map((s) => [s.phase, s.sql, s.locks])).toEqual([
      [
        'expand',
        ['ALTER TABLE public.orders RENAME CONSTRAINT orders_total_not_null TO total_required'],
        [{ relation: 'public.orders', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
      ],
    ]);
    const back = plan(tables(named(orders, 'total', 'total_required')), tables(orders), PG18);
    expect(allSql(back)).toEqual([
      'ALTER TABLE public.orders RENAME CONSTRAINT total_required TO orders_total_not_null',
    ]);
  });

  test('a partitioned table: the rename takes its partitions too, and is refused when one has a name of its own', () => {
    const r = plan(tables(payment), tables(named(payment, 'amount', 'amount_required')), PG18);
    expect(flat(r).map((s) => [s.sql, s.locks.map((l) => `${l.mode} on ${l.relation}`)])).toEqual([
      [
        ['ALTER TABLE public.payment RENAME CONSTRAINT payment_amount_not_null TO amount_required'],
        ['ACCESS EXCLUSIVE on public.payment', 'ACCESS EXCLUSIVE on public.payment_p1'],
      ],
    ]);
    const own = withPartitions(payment, [
      partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"), { notNullNames: { amount: 'p1_amount' } }),
    ]);
    const e = planningError(tables(own), tables(named(own, 'amount', 'amount_required')), PG18.serverVersion);
    expect(e.message).toMatch(/partition public\.payment_p1 names its own p1_amount/);
  });

  test('a new table and its partitions get their names where they are created', () => {
    const t = withPartitions(named(payment, 'amount', 'amount_required'), [
      partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"), { notNullNames: { at: 'p1_at' } }),
    ]);
    const sql = allSql(plan(tables(), tables(t), PG18)).join('\n');
    expect(sql).toContain('amount numeric CONSTRAINT amount_required NOT NULL');
    expect(sql).toContain(
      "CREATE TABLE public.payment_p1 PARTITION OF public.payment (CONSTRAINT p1_at NOT NULL at) FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')",
    );
  });

  test("a partition added to an existing table: LIKE copies the parent's names, renamed before ATTACH", () => {
    const desired = withPartitions(payment, [
      ...payment.partitions,
      partition('payment_p2', range("'2022-02-01'", "'2022-03-01'"), { notNullNames: { amount: 'p2_amount' } }),
    ]);
    const sql = allSql(plan(tables(payment), tables(desired), PG18));
    const rename = sql.indexOf('ALTER TABLE public.payment_p2 RENAME CONSTRAINT payment_amount_not_null TO p2_amount');
    expect(rename).toBeGreaterThan(sql.findIndex((s) => s.startsWith('CREATE TABLE public.payment_p2 (LIKE')));
    expect(rename).toBeLessThan(sql.findIndex((s) => s.includes('ATTACH PARTITION public.payment_p2')));
  });

  test('a column made NOT NULL with a name: renamed in the SET NOT NULL step, under its lock', () => {
    const live = withTable(tables(orders), 'orders', (t) => ({
      ...t,
      columns: t.columns.map((c) => (c.name === 'note' ? { ...c, nullable: true } : c)),
    }));
    const desired = withTable(tables(orders), 'orders', (t) => ({
      ...t,
      columns: t.columns.map((c) => (c.name === 'note' ? { ...c, nullable: false, notNullName: 'note_required' } : c)),
    }));
    const step = flat(plan(live, desired, PG18)).find((s) => s.sql.some((q) => q.includes('SET NOT NULL')))!;
    expect(step.phase).toBe('contract');
    expect(step.sql).toEqual([
      'ALTER TABLE public.orders ALTER COLUMN note SET NOT NULL',
      'ALTER TABLE public.orders RENAME CONSTRAINT orders_note_not_null TO note_required',
      'ALTER TABLE public.orders DROP CONSTRAINT orders_note_zdm_not_null',
    ]);
  });

  test('dropping NOT NULL drops the name with it', () => {
    const desired = withTable(tables(orders), 'orders', (t) => ({
      ...t,
      columns: t.columns.map((c) =>
        c.name === 'total' ? { kind: 'column', name: 'total', type: 'integer', nullable: true } : c,
      ),
    }));
    expect(allSql(plan(tables(named(orders, 'total', 'total_required')), desired, PG18))).toEqual([
      'ALTER TABLE public.orders ALTER COLUMN total DROP NOT NULL',
    ]);
  });
});

describe('before PostgreSQL 18', () => {
  test.each(['PostgreSQL 14.12', 'PostgreSQL 17.2'])('%s: a name is refused at plan time, with its path', (v) => {
    const e = planningError(tables(orders), tables(named(orders, 'total', 'total_required')), v);
    expect(e.message).toMatch(/has no names for NOT NULL constraints .*remove `notNullName`/);
    expect(e.message).toContain('schemas.public.tables.orders.columns.total.notNullName');
    const p = withPartitions(payment, [
      partition('payment_p1', range("'2022-01-01'", "'2022-02-01'"), { notNullNames: { amount: 'p1_amount' } }),
    ]);
    expect(planningError(tables(), tables(p), v).message).toMatch(/remove `notNullNames`/);
  });

  test('a schema without names plans as before', () => {
    expect(allSql(plan(tables(), tables(orders), { serverVersion: 'PostgreSQL 14.12' }))[0]).toContain(
      'total integer NOT NULL',
    );
  });
});
