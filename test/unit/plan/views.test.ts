/**
 * Views and materialized views through the planner, on models built in code: the order of creates
 * and drops by the dependency graph, which changes go in expand and which in contract, and views
 * dropped and created again around a change of a column they read.
 */
import { describe, expect, test } from 'vitest';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, id, materializedView, pk, table, tables, view, withViews } from './builders.js';
import { flat, plan } from './helpers.js';

const customer = table(
  'customer',
  [id('integer'), col('name', 'text', { nullable: false }), col('active', 'boolean')],
  {
    primaryKey: pk(['id'], 'customer_pkey'),
  },
);
const base = tables(customer);

const activeDef = 'SELECT customer.id,\n    customer.name\n   FROM public.customer\n  WHERE customer.active';
const active = view('active_customer', activeDef, ['id integer', 'name text']);
const namesDef = 'SELECT active_customer.name\n   FROM public.active_customer';
// Named to sort before what it reads: the order must come from the graph, not from names.
const names = view('a_names', namesDef, ['name text']);
const chain = [
  'view public.active_customer -> table public.customer#id',
  'view public.active_customer -> table public.customer#name',
  'view public.active_customer -> table public.customer#active',
  'view public.a_names -> view public.active_customer#name',
];

describe('views in the plan', () => {
  test('new views are created in expand, what a view reads first, with ACCESS SHARE on what they read', () => {
    const steps = flat(plan(base, withViews(base, [active, names], chain)));
    expect(steps.map((s) => [s.phase, s.summary])).toEqual([
      ['expand', 'create view public.active_customer'],
      ['expand', 'create view public.a_names'],
    ]);
    expect(steps[0]!.sql).toEqual([`CREATE VIEW public.active_customer AS\n${activeDef}`]);
    expect(steps[0]!.locks).toEqual([{ relation: 'public.customer', mode: 'ACCESS SHARE', hold: 'instant' }]);
    expect(steps[1]!.locks).toEqual([{ relation: 'public.active_customer', mode: 'ACCESS SHARE', hold: 'instant' }]);
    expect(steps.every((s) => s.hazards.length === 0)).toBe(true);
  });

  test('options and comments are part of the create step; no comment step of their own', () => {
    const v = view('active_customer', activeDef, ['id integer', 'name text'], {
      securityBarrier: true,
      checkOption: 'local',
      comment: "customers who can't wait",
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'text', comment: 'full name' },
      ],
    });
    const steps = flat(plan(base, withViews(base, [v], chain.slice(0, 3))));
    expect(steps).toHaveLength(1);
    expect(steps[0]!.sql).toEqual([
      `CREATE VIEW public.active_customer WITH (security_barrier = true) AS\n${activeDef}\nWITH LOCAL CHECK OPTION`,
      `COMMENT ON VIEW public.active_customer IS 'customers who can''t wait'`,
      `COMMENT ON COLUMN public.active_customer.name IS 'full name'`,
    ]);
  });

  test('a change CREATE OR REPLACE allows is made in expand, ACCESS EXCLUSIVE on the view for an instant', () => {
    const live = withViews(base, [active], chain.slice(0, 3));
    const wider = view('active_customer', `${activeDef} AND (customer.id > 0)`, [
      'id integer',
      'name text',
      'active boolean',
    ]);
    const steps = flat(plan(live, withViews(base, [wider], chain.slice(0, 3))));
    expect(steps.map((s) => [s.phase, s.summary, s.hazards])).toEqual([
      ['expand', 'replace view public.active_customer (CREATE OR REPLACE: same columns, new ones appended)', []],
    ]);
    expect(steps[0]!.sql[0]).toMatch(/^CREATE OR REPLACE VIEW public\.active_customer AS\n/);
    expect(steps[0]!.locks).toEqual([
      { relation: 'public.active_customer', mode: 'ACCESS EXCLUSIVE', hold: 'instant' },
      { relation: 'public.customer', mode: 'ACCESS SHARE', hold: 'instant' },
    ]);
  });

  test('a view that loses columns is dropped and created again in contract with what reads it, app-compat', () => {
    const live = withViews(base, [active, names], chain);
    const narrower = view('active_customer', 'SELECT customer.name\n   FROM public.customer', ['name text']);
    const desired = withViews(
      base,
      [narrower, names],
      [
        'view public.active_customer -> table public.customer#name',
        'view public.a_names -> view public.active_customer#name',
      ],
    );
    const r = plan(live, desired);
    const steps = flat(r);
    expect(steps.map((s) => [s.phase, s.hazards])).toEqual([['contract', ['app-compat']]]);
    expect(steps[0]!.summary).toMatch(/public\.active_customer: it loses column id/);
    // Drops: what reads a view first; creates: what a view reads first.
    expect(steps[0]!.sql.map((q) => q.split('\n')[0])).toEqual([
      'DROP VIEW public.a_names',
      'DROP VIEW public.active_customer',
      'CREATE VIEW public.active_customer AS',
      'CREATE VIEW public.a_names AS',
    ]);
    expect(steps[0]!.locks).toEqual([
      { relation: 'public.a_names', mode: 'ACCESS EXCLUSIVE', hold: 'instant' },
      { relation: 'public.active_customer', mode: 'ACCESS EXCLUSIVE', hold: 'instant' },
      { relation: 'public.customer', mode: 'ACCESS SHARE', hold: 'instant' },
    ]);
    expect(r.warnings.join('\n')).toMatch(/view public\.active_customer is dropped and created again: its grants/);
  });

  test('dropped views go in contract, what reads a view first', () => {
    const live = withViews(base, [active, names], chain);
    const steps = flat(plan(live, base));
    expect(steps.map((s) => [s.phase, s.summary, s.hazards])).toEqual([
      ['contract', 'drop view public.a_names', ['app-compat']],
      ['contract', 'drop view public.active_customer', ['app-compat']],
    ]);
  });

  test('a view over a column whose type changes in place is dropped and created again in that step', () => {
    const t = (type: string) => table('t', [id(), col('name', type)]);
    const v = (type: string) => view('v', 'SELECT t.name\n   FROM public.t', [`name ${type}`]);
    const edge = ['view public.v -> table public.t#name'];
    const live = withViews(tables(t('character varying(10)')), [v('character varying(10)')], edge);
    const desired = withViews(tables(t('character varying(20)')), [v('character varying(20)')], edge);
    const steps = flat(plan(live, desired));
    expect(steps).toHaveLength(1);
    expect(steps[0]!.phase).toBe('expand');
    expect(steps[0]!.summary).toMatch(/public\.v dropped and created again around it/);
    expect(steps[0]!.sql.map((q) => q.split('\n')[0])).toEqual([
      'DROP VIEW public.v',
      'ALTER TABLE public.t ALTER COLUMN name TYPE varchar(20)',
      'CREATE VIEW public.v AS',
    ]);
    expect(steps[0]!.locks).toEqual([
      { relation: 'public.t', mode: 'ACCESS EXCLUSIVE', hold: 'instant' },
      { relation: 'public.v', mode: 'ACCESS EXCLUSIVE', hold: 'instant' },
    ]);
    expect(steps[0]!.hazards).toEqual([]);
  });

  test('a column a view reads is dropped after the view has changed, both in contract', () => {
    const t = (...cols: string[]) => table('note', [id(), ...cols.map((c) => col(c, 'text'))]);
    const live = withViews(
      tables(t('body', 'legacy')),
      [view('v', 'SELECT note.body,\n    note.legacy\n   FROM public.note', ['body text', 'legacy text'])],
      ['view public.v -> table public.note#body', 'view public.v -> table public.note#legacy'],
    );
    const desired = withViews(
      tables(t('body')),
      [view('v', 'SELECT note.body\n   FROM public.note', ['body text'])],
      ['view public.v -> table public.note#body'],
    );
    const steps = flat(plan(live, desired));
    expect(steps.map((s) => [s.phase, s.summary.replace(/ \(.*$/, '')])).toEqual([
      ['contract', 'drop and create again view public.v in one transaction'],
      ['contract', 'drop column public.note.legacy and its data'],
    ]);
  });

  test('a new materialized view is created with its indexes in one step, populated: long-running', () => {
    const mv = materializedView('totals', 'SELECT count(*) AS n\n   FROM public.customer', ['n bigint'], {
      indexes: [
        {
          kind: 'index',
          name: 'totals_n',
          unique: true,
          method: 'btree',
          keys: [{ column: 'n', descending: false }],
          include: [],
          nullsNotDistinct: false,
          valid: true,
        },
      ],
    });
    const steps = flat(plan(base, withViews(base, [mv], ['materializedView public.totals -> table public.customer'])));
    expect(steps.map((s) => [s.phase, s.hazards])).toEqual([['expand', ['long-running']]]);
    expect(steps[0]!.sql).toEqual([
      'CREATE MATERIALIZED VIEW public.totals AS\nSELECT count(*) AS n\n   FROM public.customer\nWITH DATA',
      'CREATE UNIQUE INDEX totals_n ON public.totals (n)',
    ]);
    expect(steps[0]!.locks).toEqual([{ relation: 'public.customer', mode: 'ACCESS SHARE', hold: 'scan' }]);
    const empty = flat(
      plan(
        base,
        withViews(
          base,
          [{ ...mv, withData: false, indexes: [] }],
          ['materializedView public.totals -> table public.customer'],
        ),
      ),
    );
    expect(empty[0]!.sql[0]).toMatch(/\nWITH NO DATA$/);
    expect(empty[0]!.hazards).toEqual([]);
  });

  test('objects zdm does not manage still refuse the change, naming them', () => {
    const live = {
      ...base,
      dependencies: [{ from: 'rule protect on public.other', to: 'table public.customer', column: 'name' }],
    };
    const desired = tables(
      table('customer', [id('integer'), col('active', 'boolean')], { primaryKey: pk(['id'], 'customer_pkey') }),
    );
    expect(() => plan(live, desired)).toThrow(PlanningError);
    expect(() => plan(live, desired)).toThrow(
      /rule protect on public\.other \(not managed by zdm\) depends on the column/,
    );
  });
});
