/**
 * Functions, procedures and triggers through the diff and the planner, on models built in code:
 * which change is a CREATE OR REPLACE and which a drop and create again, the groups they go in,
 * the refusals that name what would break, and the model after contract.
 */
import { describe, expect, test } from 'vitest';
import { diffModels } from '../../../src/diff/diff.js';
import { routineNotReplaceable } from '../../../src/model/routines.js';
import type { DatabaseModel, Routine, Trigger } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, id, table, tables } from './builders.js';
import { flat, plan } from './helpers.js';

const doc = table('doc', [id('integer'), col('body', 'text')]);

const touch: Routine = {
  kind: 'function',
  schema: 'public',
  name: 'touch',
  arguments: [],
  returns: 'trigger',
  language: 'plpgsql',
  body: 'BEGIN RETURN NEW; END',
};
const f: Routine = {
  kind: 'function',
  schema: 'public',
  name: 'f',
  arguments: [{ name: 'x', type: 'integer' }],
  returns: 'integer',
  language: 'sql',
  body: ' SELECT x ',
};
const trig: Trigger = {
  kind: 'trigger',
  schema: 'public',
  table: 'doc',
  name: 'doc_touch',
  timing: 'before',
  events: ['insert'],
  forEach: 'row',
  function: 'public.touch',
};

function withCode(
  m: DatabaseModel,
  functions: readonly Routine[],
  triggers: readonly Trigger[] = [],
  edges: readonly [string, string][] = [],
): DatabaseModel {
  return {
    ...m,
    schemas: m.schemas.map((s) => (s.name === 'public' ? { ...s, functions, triggers } : s)),
    dependencies: edges.map(([from, to]) => ({ from, to })),
  };
}

describe('the CREATE OR REPLACE rule', () => {
  test.each([
    ['a new body', { body: ' SELECT x + 1 ' }, undefined],
    ['new options', { volatility: 'immutable', strict: true }, undefined],
    ['a default added', { arguments: [{ name: 'x', type: 'integer', default: '1' }] }, undefined],
    ['another result type', { returns: 'bigint' }, /result type changes \(integer → bigint\)/],
    ['an argument renamed', { arguments: [{ name: 'y', type: 'integer' }] }, /argument 1 changes name \(x → y\)/],
    ['a procedure', { kind: 'procedure', returns: undefined }, /changes from a function to a procedure/],
  ] as const)('%s', (_name, change, reason) => {
    const to = { ...f, ...change } as Routine;
    const got = routineNotReplaceable(f, to);
    if (reason === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(reason);
  });

  test('a default removed', () => {
    const from = { ...f, arguments: [{ name: 'x', type: 'integer', default: '1' }] };
    expect(routineNotReplaceable(from, f)).toMatch(/loses its default/);
  });
});

describe('functions and triggers in the plan', () => {
  test('new: the function before the tables in expand, the trigger after them', () => {
    const live = tables();
    const desired = withCode(tables(doc), [touch], [trig]);
    const steps = flat(plan(live, desired));
    expect(steps.map((s) => [s.phase, s.summary])).toEqual([
      ['expand', 'create function public.touch'],
      ['expand', 'create table public.doc (2 columns)'],
      ['expand', 'create trigger doc_touch on public.doc'],
    ]);
    // The table is new, created by an earlier step: the trigger's step takes its lock there all the same
    // (rehearsal saw it), so it declares it.
    expect(steps[2]!.locks).toEqual([{ relation: 'public.doc', mode: 'SHARE ROW EXCLUSIVE', hold: 'instant' }]);
  });

  test('a body change is replaced in place; a result type change is dropped and created again in contract', () => {
    const live = withCode(tables(doc), [f, touch]);
    const desired = withCode(tables(doc), [
      { ...f, returns: 'bigint' },
      { ...touch, body: 'BEGIN RETURN NULL; END' },
    ]);
    expect(diffModels(live, desired).map((c) => c.kind)).toEqual(['recreateRoutine', 'replaceRoutine']);
    const steps = flat(plan(live, desired));
    expect(steps.map((s) => [s.phase, s.summary])).toEqual([
      ['expand', 'replace function public.touch'],
      ['contract', 'drop and create again function public.f (its result type changes (integer → bigint))'],
    ]);
    expect(steps[0]!.sql[1]).toMatch(/^CREATE OR REPLACE FUNCTION public\.touch\(\) RETURNS trigger/);
  });

  test('a trigger function whose result changes is created again with its triggers, in one transaction', () => {
    const setof = { ...touch, name: 'touch' };
    const live = withCode(
      tables(doc),
      [setof],
      [trig],
      [['trigger doc_touch on public.doc', 'function public.touch()']],
    );
    const desired = withCode(tables(doc), [
      { ...setof, arguments: [{ mode: 'out', name: 'x', type: 'integer' }], returns: 'integer' },
    ]);
    const steps = flat(plan(live, desired));
    expect(steps.map((s) => s.summary)).toEqual([
      'drop and create again function public.touch (its result type changes (trigger → integer)), with triggers doc_touch on public.doc',
    ]);
    expect(steps[0]!.sql[0]).toBe('DROP TRIGGER doc_touch ON public.doc');
    expect(steps[0]!.locks).toEqual([{ relation: 'public.doc', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }]);
  });

  test('a function an object zdm does not manage uses cannot be dropped: refused, naming it', () => {
    const live = withCode(tables(doc), [f], [], [['rule r on public.doc', 'function public.f(integer)']]);
    expect(() => plan(live, withCode(tables(doc), []))).toThrow(PlanningError);
    expect(() => plan(live, withCode(tables(doc), []))).toThrow(/rule r on public\.doc \(not managed by zdm\) uses it/);
  });

  test('a function a view uses cannot be dropped and created again: refused, naming the view', () => {
    const live = withCode(tables(doc), [f], [], [['view public.v', 'function public.f(integer)']]);
    expect(() => plan(live, withCode(tables(doc), [{ ...f, returns: 'bigint' }]))).toThrow(
      /its result type changes \(integer → bigint\), so it must be dropped and created again, and view public\.v uses it/,
    );
  });

  test('a changed constraint trigger is dropped and created in one transaction; a dropped trigger goes first in contract', () => {
    const late: Trigger = {
      ...trig,
      name: 'doc_late',
      timing: 'after',
      constraint: { deferrable: false, initiallyDeferred: false },
    };
    const live = withCode(tables(doc), [touch], [late, trig]);
    const desired = withCode(tables(doc), [touch], [{ ...late, events: ['insert', 'update'] }]);
    const steps = flat(plan(live, desired));
    expect(steps.map((s) => [s.phase, s.summary, s.locks.map((l) => l.mode)])).toEqual([
      [
        'expand',
        'drop and create again trigger doc_late on public.doc (a constraint trigger cannot be replaced)',
        ['ACCESS EXCLUSIVE'],
      ],
      ['contract', 'drop trigger doc_touch on public.doc', ['ACCESS EXCLUSIVE']],
    ]);
  });
});

describe('triggers around a column rename (widened in expand, created as desired in the swap)', () => {
  const live = table('doc', [id('integer'), col('title', 'text')]);
  const renamed = table('doc', [id('integer'), col('heading', 'text', { renamedFrom: 'title' })]);
  const on = (name: string, o: Partial<Trigger>): Trigger => ({
    ...trig,
    name,
    timing: 'after',
    events: ['update'],
    ...o,
  });

  test('UPDATE OF the old column: both names while the sync runs (undo: as it was); a new trigger UPDATE OF the new one: both names too (undo: dropped); disabled, constraint and WHEN-only triggers are not widened', () => {
    const liveTriggers = [
      on('doc_of', { columns: ['title'] }),
      on('doc_off', { columns: ['title'], enabled: 'disabled' }),
      on('doc_con', { columns: ['title'], constraint: { deferrable: false, initiallyDeferred: false } }),
      on('doc_when', { when: '(new.title IS DISTINCT FROM old.title)' }),
    ];
    const desiredTriggers = [
      on('doc_of', { columns: ['heading'] }),
      on('doc_off', { columns: ['heading'], enabled: 'disabled' }),
      on('doc_con', { columns: ['heading'], constraint: { deferrable: false, initiallyDeferred: false } }),
      on('doc_when', { when: '(new.heading IS DISTINCT FROM old.heading)' }),
      on('doc_new', { columns: ['heading'] }),
    ];
    const steps = flat(
      plan(withCode(tables(live), [touch], liveTriggers), withCode(tables(renamed), [touch], desiredTriggers)),
    );
    const widened = steps.filter((s) => s.kind === 'sql' && s.undo !== undefined);
    expect(widened.map((s) => (s.kind === 'sql' ? [s.phase, s.sql, s.undo, s.locks.map((l) => l.mode)] : []))).toEqual([
      [
        'expand',
        [
          'CREATE OR REPLACE TRIGGER doc_of AFTER UPDATE OF title, heading ON public.doc FOR EACH ROW EXECUTE FUNCTION public.touch()',
        ],
        [
          'CREATE OR REPLACE TRIGGER doc_of AFTER UPDATE OF title ON public.doc FOR EACH ROW EXECUTE FUNCTION public.touch()',
        ],
        ['SHARE ROW EXCLUSIVE'],
      ],
      [
        'expand',
        [
          'CREATE TRIGGER doc_new AFTER UPDATE OF heading, title ON public.doc FOR EACH ROW EXECUTE FUNCTION public.touch()',
        ],
        ['DROP TRIGGER IF EXISTS doc_new ON public.doc'],
        ['SHARE ROW EXCLUSIVE'],
      ],
    ]);
    // Nothing else plans them: the swap drops every one of them before the old column and creates it as desired.
    const swap = steps.find((s) => s.phase === 'contract' && s.summary.startsWith('drop the sync trigger'))!;
    const drops = swap.sql.filter((q) => q.startsWith('DROP TRIGGER doc_') && !q.includes('zdm_sync'));
    const dropColumn = swap.sql.indexOf('ALTER TABLE public.doc DROP COLUMN title');
    expect(drops.sort()).toEqual(
      ['doc_con', 'doc_new', 'doc_of', 'doc_off', 'doc_when'].map((n) => `DROP TRIGGER ${n} ON public.doc`),
    );
    expect(drops.every((q) => swap.sql.indexOf(q) < dropColumn)).toBe(true);
    expect(swap.sql.filter((q) => /^CREATE (CONSTRAINT )?TRIGGER doc_/.test(q))).toHaveLength(5);
    expect(
      steps.filter((s) => /trigger doc_(of|off|con|when|new) /.test(s.summary) && s !== swap && !widened.includes(s)),
    ).toEqual([]);
  });

  test('two columns of one table renamed: a trigger over both names all four while they sync; each step undoes only itself', () => {
    const two = table('doc', [id('integer'), col('a', 'text'), col('b', 'text')]);
    const both = table('doc', [
      id('integer'),
      col('a2', 'text', { renamedFrom: 'a' }),
      col('b2', 'text', { renamedFrom: 'b' }),
    ]);
    const steps = flat(
      plan(
        withCode(tables(two), [touch], [on('doc_of', { columns: ['a', 'b'] })]),
        withCode(
          tables(both),
          [touch],
          [on('doc_of', { columns: ['a2', 'b2'] }), on('doc_new', { columns: ['a2', 'b2'] })],
        ),
      ),
    );
    const widened = steps.filter((s) => s.kind === 'sql' && s.undo !== undefined);
    const of = (q: string) => /UPDATE OF (.*) ON/.exec(q)?.[1];
    expect(
      widened.map((s) => (s.kind === 'sql' ? [s.sql.map(of), s.undo?.map((q) => of(q) ?? q.split(' ON')[0])] : [])),
    ).toEqual([
      [['a, b, a2'], ['a, b']],
      [['a2, b2, a'], ['DROP TRIGGER IF EXISTS doc_new']],
      [['a, b, a2, b2'], ['a, b, a2']],
      [['a2, b2, a, b'], ['a2, b2, a']],
    ]);
    // Each swap drops the trigger before its old column goes, and creates it as desired.
    const swaps = steps.filter((s) => s.phase === 'contract' && s.summary.startsWith('drop the sync trigger'));
    expect(swaps).toHaveLength(2);
    for (const swap of swaps) {
      expect(swap.sql).toContain('DROP TRIGGER doc_of ON public.doc');
      expect(swap.sql).toContain('DROP TRIGGER doc_new ON public.doc');
    }
  });

  test('a type change keeps the column name for both versions: nothing widened', () => {
    const retyped = table('doc', [id('integer'), col('title', 'integer', { using: 'title::integer' })]);
    const steps = flat(
      plan(
        withCode(tables(live), [touch], [on('doc_of', { columns: ['title'] })]),
        withCode(tables(retyped), [touch], [on('doc_of', { columns: ['title'] })]),
      ),
    );
    expect(steps.filter((s) => s.kind === 'sql' && s.undo !== undefined)).toEqual([]);
    expect(steps.find((s) => s.phase === 'contract')?.summary).toMatch(
      /trigger doc_of on public\.doc dropped and created again around it$/,
    );
  });
});

describe('a BEFORE trigger over the renamed column that fires before the sync trigger', () => {
  test('is named in a warning (it sees the new version updates before the sync trigger sets the old column)', () => {
    const live = table('doc', [id('integer'), col('title', 'text')]);
    const renamed = table('doc', [id('integer'), col('heading', 'text', { renamedFrom: 'title' })]);
    const early = (name: string, when: string): Trigger => ({ ...trig, name, events: ['update'], when });
    const r = plan(
      withCode(
        tables(live),
        [touch],
        [early('doc_a', 'new.title <> old.title'), early('doc_z', 'new.title <> old.title')],
      ),
      withCode(
        tables(renamed),
        [touch],
        [early('doc_a', 'new.heading <> old.heading'), early('doc_z', 'new.heading <> old.heading')],
      ),
    );
    expect(r.warnings).toEqual([
      'trigger doc_a on public.doc fires before the sync trigger doc_heading_zdm_sync (BEFORE triggers fire in name order): ' +
        "until contract, for the new application version's updates of heading its WHEN and its function see title not yet set from heading",
    ]);
  });
});
