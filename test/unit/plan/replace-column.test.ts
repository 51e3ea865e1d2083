/** The rename / type-change recipe (src/plan/techniques/replace-column.ts) and table renames, as planned. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, id, table, tables, users, withTable } from './builders.js';
import { flat, plan } from './helpers.js';

const renamed = withTable(tables(users), 'users', (t) => ({
  ...t,
  columns: [id(), col('display_name', 'text', { nullable: false, renamedFrom: 'name' })],
}));
const liveNotNull = withTable(tables(users), 'users', (t) => ({
  ...t,
  columns: [id(), col('name', 'text', { nullable: false })],
}));

describe('column rename', () => {
  test('expand: column, NOT VALID check, function and trigger in one transaction; backfill; one contract transaction', () => {
    const r = plan(liveNotNull, renamed);
    const steps = flat(r);
    expect(steps.map((s) => `${s.phase}:${s.kind}`)).toEqual([
      'expand:sql',
      'backfill:backfill',
      'backfill:sql',
      'contract:sql',
    ]);
    const [expand, backfill, validate, contract] = steps;
    expect(expand!.kind === 'sql' && expand!.transaction).toBe(true);
    expect(expand!.sql.map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual([
      'ALTER TABLE',
      'ALTER TABLE',
      'CREATE FUNCTION',
      'COMMENT ON',
      'CREATE TRIGGER',
    ]);
    expect(expand!.sql[1]).toBe(
      'ALTER TABLE public.users ADD CONSTRAINT users_display_name_not_null CHECK (display_name IS NOT NULL) NOT VALID',
    );
    expect(backfill).toMatchObject({ set: { display_name: 'name' }, where: 'display_name IS DISTINCT FROM (name)' });
    expect(validate!.sql).toEqual(['ALTER TABLE public.users VALIDATE CONSTRAINT users_display_name_not_null']);
    expect(contract!.sql).toEqual([
      'DROP TRIGGER users_display_name_zdm_sync ON public.users',
      'DROP FUNCTION public.users_display_name_zdm_sync()',
      'ALTER TABLE public.users ALTER COLUMN display_name SET NOT NULL',
      'ALTER TABLE public.users DROP CONSTRAINT users_display_name_not_null',
      'ALTER TABLE public.users DROP COLUMN name',
    ]);
    expect(r.models.expand.schemas.flatMap((x) => x.tables).flatMap((t) => t.columns.map((c) => c.name))).toEqual([
      'id',
      'name',
      'display_name',
    ]);
  });

  test("a table's own row triggers make the backfill a fires-user-triggers hazard naming them", () => {
    const live: DatabaseModel = {
      ...liveNotNull,
      dependents: {
        views: [],
        functions: [],
        triggers: [{ kind: 'trigger', schema: 'public', name: 'users_touch', table: 'users', dependsOn: [] }],
      },
    };
    const bf = flat(plan(live, renamed)).find((s) => s.kind === 'backfill')!;
    expect(bf.hazards).toEqual(['fires-user-triggers']);
    expect(bf.summary).toMatch(/fires trigger\(s\) users_touch/);
  });

  test('a column that becomes an identity column in the same type change is refused, naming the path', () => {
    const live = tables(table('t', [id(), col('n', 'integer', { nullable: false })]));
    const desired = tables(table('t', [id(), col('n', 'bigint', { nullable: false, identity: 'always' })]));
    try {
      plan(live, desired);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlanningError);
      expect((e as PlanningError).issues[0]).toMatchObject({
        object: 'column public.t.n',
        path: 'schemas.public.tables.t.columns.n.type',
      });
    }
  });
});

describe('type change', () => {
  test('63-byte columns get shortened, distinct shadow, check and trigger names', () => {
    const a = 'c'.repeat(63);
    const b = `${'c'.repeat(62)}d`;
    const live = tables(table('t', [id(), col(a, 'integer', { nullable: false }), col(b, 'integer')]));
    const desired = tables(table('t', [id(), col(a, 'bigint', { nullable: false }), col(b, 'bigint')]));
    const sql = flat(plan(live, desired)).flatMap((s) => s.sql);
    const added = sql.flatMap((s) => [...s.matchAll(/ADD COLUMN (\S+) bigint/g)].map((m) => m[1]!));
    expect(added).toHaveLength(2);
    expect(new Set(added).size).toBe(2);
    const triggers = sql.flatMap((s) => [...s.matchAll(/CREATE TRIGGER (\S+) /g)].map((m) => m[1]!));
    expect(new Set(triggers).size).toBe(2);
    for (const n of [...added, ...triggers]) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
  });

  test('the contract swaps the names and the old column goes: the model after contract is the desired one', () => {
    const live = tables(table('t', [id(), col('n', 'integer')]));
    const desired = tables(table('t', [id(), col('n', 'bigint')]));
    const r = plan(live, desired);
    const contract = flat(r).filter((s) => s.phase === 'contract');
    expect(contract).toHaveLength(1);
    expect(contract[0]!.sql.slice(-2)).toEqual([
      'ALTER TABLE public.t DROP COLUMN n',
      'ALTER TABLE public.t RENAME COLUMN n_zdm_new TO n',
    ]);
  });
});

describe('table rename', () => {
  test('expand renames and leaves a view; contract drops the view', () => {
    const r = plan(tables(users), tables({ ...users, name: 'people', renamedFrom: 'users' }));
    expect(flat(r).map((s) => [s.phase, s.sql])).toEqual([
      [
        'expand',
        [
          'ALTER TABLE public.users RENAME TO people',
          'CREATE VIEW public.users AS SELECT * FROM public.people',
          "COMMENT ON VIEW public.users IS 'zdm: the old name of public.people until contract'",
        ],
      ],
      ['contract', ['DROP VIEW public.users']],
    ]);
  });
});
