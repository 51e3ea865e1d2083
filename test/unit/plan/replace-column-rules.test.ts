/**
 * The refusal rules of a column replacement (src/plan/techniques/replace-column/rules.ts), one by
 * one: for each rule an input that it refuses and one it lets through, everything else equal.
 */
import { describe, expect, test } from 'vitest';
import type {
  Column,
  DatabaseModel,
  Dependency,
  Dependent,
  Dependents,
  Table,
  Trigger,
} from '../../../src/model/types.js';
import { PlanContext, rootTable } from '../../../src/plan/context.js';
import { decideCarried, decideReplacement } from '../../../src/plan/techniques/replace-column/decide.js';
import {
  CARRY_RULES,
  type CarryFacts,
  COLUMN_RULES,
  type Rule,
  SHADOW_RULES,
  VIRTUAL_RULES,
} from '../../../src/plan/techniques/replace-column/rules.js';
import { check, col, exclusion, fk, id, index, partition, pk, range, table, tables } from './builders.js';

const T = { schema: 'public', name: 't' };

interface Case {
  readonly live: readonly Table[];
  readonly desired?: readonly Table[];
  readonly from: Column;
  readonly to: Column;
  readonly dependents?: Partial<Dependents>;
  /** Edges of the live dependency graph. */
  readonly dependencies?: readonly Dependency[];
  /** Triggers of schema public in the model, live and desired. */
  readonly triggers?: { readonly live: readonly Trigger[]; readonly desired: readonly Trigger[] };
}

const withTriggers = (m: DatabaseModel, ts: readonly Trigger[] | undefined): DatabaseModel =>
  ts === undefined ? m : { ...m, schemas: m.schemas.map((x) => ({ ...x, triggers: ts })) };

/** The facts every rule sees for replacing column `from` of public.t by `to`. */
function facts(c: Case): CarryFacts {
  const live: DatabaseModel = {
    ...withTriggers(tables(...c.live), c.triggers?.live),
    ...(c.dependents ? { dependents: { functions: [], triggers: [], ...c.dependents } } : {}),
    ...(c.dependencies ? { dependencies: c.dependencies } : {}),
  };
  const desired = withTriggers(tables(...(c.desired ?? c.live)), c.triggers?.desired);
  const ctx = new PlanContext({ live, desired, serverMajor: 18, rowCounts: {}, batchSize: 1000 });
  const change = { kind: 'replaceColumn' as const, table: T, from: c.from, to: c.to };
  const liveTable = rootTable(live, T)!;
  const r = decideReplacement(ctx, change, liveTable);
  const carried = decideCarried(ctx, T, liveTable, r.names)!;
  return { ctx, change, live: liveTable, names: r.names, carried };
}

const n = (type = 'integer', opts: Partial<Column> = {}): Column => col('n', type, opts);
const t = (columns: readonly Column[], parts: Partial<Table> = {}): Table => table('t', columns, parts);
const partitioned = { partitionBy: { strategy: 'range' as const, columns: ['d'] } };
const d = col('d', 'date', { nullable: false });
const computed = (stored: boolean) => ({ expression: '(id * 2)', stored });
/** A type change of the virtual generated column n, integer → `to`. */
const virtual = (to: Column): Case => ({
  live: [t([id(), n()])],
  from: n('integer', { generated: computed(false) }),
  to,
});
/** A trigger on public.t that depends on its column `column`. */
const dependent = (kind: 'trigger', column: string): Dependent => ({
  kind,
  schema: 'public',
  name: 'tr',
  table: 't',
  dependsOn: [{ schema: 'public', table: 't', column }],
});
/** A function zdm does not manage (a SQL-standard body) that reads column `column` of public.t. */
const reader = (column: string): Dependency[] => [{ from: 'function public.f()', to: 'table public.t', column }];
/** A type change of n, integer → bigint, with these live and desired tables. */
const retype = (live: readonly Table[], desired: readonly Table[] = live): Case => ({
  live,
  desired,
  from: n(),
  to: n('bigint'),
});

const CASES: Readonly<Record<string, { readonly refused: Case; readonly allowed: Case }>> = {
  inheritance: {
    refused: {
      live: [t([id(), n()]), table('child', [col('extra', 'text')], { inherits: ['public.t'] })],
      from: n(),
      to: n('bigint'),
    },
    allowed: { live: [t([id(), n()]), table('other', [col('extra', 'text')])], from: n(), to: n('bigint') },
  },
  'becomes-identity': {
    refused: { live: [t([id(), n()])], from: n(), to: n('integer', { nullable: false, identity: 'always' }) },
    allowed: { live: [t([id(), n()])], from: n(), to: n('bigint') },
  },
  'unmanaged-uses-column': {
    refused: { ...retype([t([id(), n()])]), dependencies: reader('n') },
    allowed: { ...retype([t([id(), n()])]), dependencies: reader('id') },
  },
  'check-uses-virtual-column': {
    refused: {
      ...virtual(n('bigint', { generated: computed(false) })),
      live: [t([id(), n()], { checks: [check('c', '(n > 0)')] })],
    },
    allowed: {
      ...virtual(n('bigint', { generated: computed(false) })),
      live: [t([id(), n()], { checks: [check('c', '(id > 0)')] })],
    },
  },
  'virtual-column-changes-more': {
    refused: virtual(n('bigint', { nullable: false, generated: computed(false) })),
    allowed: virtual(n('bigint', { generated: computed(false) })),
  },
  'generated-column': {
    refused: {
      live: [t([id(), n()])],
      from: n('integer', { generated: computed(true) }),
      to: n('bigint', { generated: computed(true) }),
    },
    allowed: retype([t([id(), n()])]),
  },
  'trigger-depends-on-column': {
    refused: { ...retype([t([id(), n()])]), dependents: { triggers: [dependent('trigger', 'n')] } },
    allowed: { ...retype([t([id(), n()])]), dependents: { triggers: [dependent('trigger', 'id')] } },
  },
  'column-in-partition-key': {
    refused: {
      live: [t([id(), n()], { partitionBy: { strategy: 'range', columns: ['n'] } })],
      from: n(),
      to: n('bigint'),
    },
    allowed: { live: [t([id(), n(), d], partitioned)], from: n(), to: n('bigint') },
  },
  'no-cast': {
    refused: { live: [t([id(), n('jsonb')])], from: n('jsonb'), to: n('point') },
    allowed: { live: [t([id(), n('jsonb')])], from: n('jsonb'), to: n('point', { using: 'point(0, 0)' }) },
  },
  'no-cast-back': {
    refused: { live: [t([id(), n('jsonb')])], from: n('jsonb'), to: n('point', { using: 'point(0, 0)' }) },
    allowed: {
      live: [t([id(), n('jsonb')])],
      from: n('jsonb'),
      to: n('point', { using: 'point(0, 0)', reverse: "'{}'::jsonb" }),
    },
  },
  'reverse-without-using': {
    refused: { live: [t([id(), n()])], from: n(), to: col('m', 'integer', { renamedFrom: 'n', reverse: 'm' }) },
    allowed: {
      live: [t([id(), n()])],
      from: n(),
      to: col('m', 'integer', { renamedFrom: 'n', reverse: 'm', using: 'n' }),
    },
  },
  'constraints-change-too': {
    refused: retype(
      [t([id(), n()], { indexes: [index('t_n', ['n'])] })],
      [t([id(), n('bigint')], { indexes: [index('t_n', ['n desc'])] })],
    ),
    allowed: retype(
      [t([id(), n()], { indexes: [index('t_n', ['n'])] })],
      [t([id(), n('bigint')], { indexes: [index('t_n', ['n'])] })],
    ),
  },
  'exclusion-uses-column': {
    refused: retype([
      t([id(), n()], {
        exclusionConstraints: [
          exclusion('x', { elements: [{ key: { column: 'n', descending: false }, operator: '=' }] }),
        ],
      }),
    ]),
    allowed: retype([
      t([id(), n()], {
        exclusionConstraints: [
          exclusion('x', { elements: [{ key: { column: 'id', descending: false }, operator: '=' }] }),
        ],
      }),
    ]),
  },
  'partitioned-key-on-column': {
    refused: retype([t([id(), n('integer', { nullable: false }), d], { ...partitioned, primaryKey: pk(['n', 'd']) })]),
    allowed: retype([t([id(), n('integer', { nullable: false }), d], { ...partitioned, primaryKey: pk(['id', 'd']) })]),
  },
  'partitioned-foreign-key-on-column': {
    refused: retype([
      t([id(), n(), d], { ...partitioned, foreignKeys: [fk('t_n_fk', ['n'], 'p')] }),
      table('p', [id()]),
    ]),
    allowed: retype([
      t([id(), n(), d], { ...partitioned, foreignKeys: [fk('t_id_fk', ['id'], 'p')] }),
      table('p', [id()]),
    ]),
  },
  'partition-own-object-on-column': {
    refused: retype([
      t([id(), n(), d], {
        ...partitioned,
        partitions: [partition('t_1', range('2024-01-01', '2025-01-01'), { indexes: [index('t_1_n', ['n'])] })],
      }),
    ]),
    allowed: retype([
      t([id(), n(), d], {
        ...partitioned,
        partitions: [partition('t_1', range('2024-01-01', '2025-01-01'), { indexes: [index('t_1_d', ['d'])] })],
      }),
    ]),
  },
  'partitioned-without-batch-key': {
    refused: retype([t([id(), n(), d], partitioned)]),
    allowed: retype([t([id(), n(), d], { ...partitioned, primaryKey: pk(['id', 'd']) })]),
  },
  'self-referencing-foreign-key': {
    refused: retype([
      t([id(), n('integer', { nullable: false }), col('parent', 'integer')], {
        foreignKeys: [fk('t_parent_fk', ['parent'], 't', ['n'])],
      }),
    ]),
    allowed: retype([
      t([id(), n('integer', { nullable: false }), col('parent', 'bigint')], {
        foreignKeys: [fk('t_parent_fk', ['parent'], 't', ['id'])],
      }),
    ]),
  },
  'referencing-foreign-key-changes-too': {
    refused: retype(
      [t([id(), n()]), table('c', [id(), col('tn', 'integer')], { foreignKeys: [fk('c_tn_fk', ['tn'], 't', ['n'])] })],
      [
        t([id(), n('bigint')]),
        table('c', [id(), col('tn', 'integer')], {
          foreignKeys: [fk('c_tn_fk', ['tn'], 't', ['n'], { onDelete: 'cascade' })],
        }),
      ],
    ),
    allowed: retype(
      [t([id(), n()]), table('c', [id(), col('tn', 'integer')], { foreignKeys: [fk('c_tn_fk', ['tn'], 't', ['n'])] })],
      [
        t([id(), n('bigint')]),
        table('c', [id(), col('tn', 'integer')], { foreignKeys: [fk('c_tn_fk', ['tn'], 't', ['n'])] }),
      ],
    ),
  },
};

const RULES: readonly (readonly [string, Rule<CarryFacts>])[] = [
  ...COLUMN_RULES,
  ...VIRTUAL_RULES,
  ...SHADOW_RULES,
  ...CARRY_RULES,
].map((r) => [r.name, r] as const);

describe('replace-column refusal rules', () => {
  test('every rule has a case, and every case a rule', () => {
    expect(RULES.map(([name]) => name).sort()).toEqual(Object.keys(CASES).sort());
  });

  test.each(RULES)('%s refuses its case and lets the other through', (name, rule) => {
    const c = CASES[name]!;
    expect(rule.refuse(facts(c.refused))).toEqual(expect.any(String));
    expect(rule.refuse(facts(c.allowed))).toBeUndefined();
  });
});

describe('a policy over the column (issue 12: policies are managed)', () => {
  const rule = COLUMN_RULES.find((r) => r.name === 'unmanaged-uses-column')!;
  const own = { name: 'own', using: '(n > 0)' };
  const policyReads = (column: string): Dependency[] => [
    { from: 'policy own on public.t', to: 'table public.t', column },
  ];

  test('a kept policy of the table that reads the column does not hold the change back (the swap re-creates it)', () => {
    const c = { ...retype([t([id(), n()], { policies: [own] })]), dependencies: policyReads('n') };
    expect(rule.refuse(facts(c))).toBeUndefined();
  });

  test('a kept policy of another table that reads the column does not hold the change back either (the swap re-creates it)', () => {
    const other = table('u', [id()], { policies: [{ name: 'see', using: '(EXISTS (SELECT 1 FROM t))' }] });
    const c = {
      ...retype([t([id(), n()]), other]),
      dependencies: [{ from: 'policy see on public.u', to: 'table public.t', column: 'n' }],
    };
    expect(rule.refuse(facts(c))).toBeUndefined();
  });

  test('one of another table the desired state drops does not either', () => {
    const other = table('u', [id()], { policies: [{ name: 'see', using: '(EXISTS (SELECT 1 FROM t))' }] });
    const c = {
      ...retype([t([id(), n()]), other], [t([id(), n('bigint')]), table('u', [id()])]),
      dependencies: [{ from: 'policy see on public.u', to: 'table public.t', column: 'n' }],
    };
    expect(rule.refuse(facts(c))).toBeUndefined();
  });

  test('a policy the desired state drops does not hold the change back', () => {
    const c = {
      ...retype([t([id(), n()], { policies: [own] })], [t([id(), n('bigint')])]),
      dependencies: policyReads('n'),
    };
    expect(rule.refuse(facts(c))).toBeUndefined();
  });

  test('a policy over another column does not either', () => {
    const c = { ...retype([t([id(), n()], { policies: [own] })]), dependencies: policyReads('id') };
    expect(rule.refuse(facts(c))).toBeUndefined();
  });
});

describe('a trigger whose UPDATE OF names the column', () => {
  const rule = SHADOW_RULES.find((r) => r.name === 'trigger-depends-on-column')!;
  const tr: Trigger = {
    kind: 'trigger',
    schema: 'public',
    table: 't',
    name: 'tr',
    timing: 'before',
    events: ['update'],
    columns: ['n'],
    forEach: 'row',
    function: 'public.touch',
  };
  const base = { ...retype([t([id(), n()])]), dependents: { triggers: [dependent('trigger', 'n')] } };

  test('one the desired state keeps does not hold the change back (the swap re-creates it)', () => {
    expect(rule.refuse(facts({ ...base, triggers: { live: [tr], desired: [tr] } }))).toBeUndefined();
  });

  test('one the desired state drops is still refused', () => {
    expect(rule.refuse(facts({ ...base, triggers: { live: [tr], desired: [] } }))).toMatch(
      /^trigger\(s\) tr depend on the column/,
    );
  });
});
