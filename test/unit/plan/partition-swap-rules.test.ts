/**
 * The refusal rules of a partition swap (src/plan/techniques/partition-swap/rules.ts), one by one:
 * for each rule an input that it refuses and one it lets through, everything else equal.
 */
import { describe, expect, test } from 'vitest';
import type {
  Column,
  DatabaseModel,
  Dependency,
  Dependent,
  Dependents,
  MaterializedView,
  Partition,
  Table,
  View,
} from '../../../src/model/types.js';
import { PlanContext } from '../../../src/plan/context.js';
import { partitionColumns } from '../../../src/plan/techniques/partition-swap/decide.js';
import { type Check, SWAP_CHECKS, type SwapFacts } from '../../../src/plan/techniques/partition-swap/rules.js';
import {
  col,
  fk,
  id,
  materializedView,
  partition,
  pk,
  range,
  table,
  tables,
  unique,
  view,
  withViews as withViewsOf,
} from './builders.js';

interface Case {
  /** The live table t; the other live tables. */
  readonly live?: Table;
  readonly others?: readonly Table[];
  /** The desired table t; the other desired tables (default: the live ones). */
  readonly want?: Table;
  readonly desiredOthers?: readonly Table[];
  readonly serverMajor?: number;
  readonly outside?: number;
  /** The planning role is a superuser or BYPASSRLS. */
  readonly bypass?: boolean;
  readonly dependents?: Partial<Dependents>;
  /** Views and materialized views of both sides, with their edges (`kind public.name -> table public.t`). */
  readonly views?: { readonly views: readonly (View | MaterializedView)[]; readonly edges: readonly string[] };
  /** The desired side's, where they differ (default: `views`). */
  readonly desiredViews?: Case['views'];
  /** Edges of the live dependency graph from objects zdm does not manage. */
  readonly unmanaged?: readonly Dependency[];
  /** A table rewrite (`typeChanges: swap`): plain → plain with column types changed. */
  readonly rewrite?: boolean;
  /** Other tables the plan swaps (`schema.name`). */
  readonly swapped?: readonly string[];
}

const d = col('d', 'date', { nullable: false });
const byD = { partitionBy: { strategy: 'range' as const, columns: ['d'] } };
const p2024 = partition('t_2024', range('2024-01-01', '2025-01-01'));
const liveT = (columns: readonly Column[] = [id(), d], parts: Partial<Table> = { primaryKey: pk(['id']) }): Table =>
  table('t', columns, parts);
const wantT = (parts: Partial<Table> = {}, columns: readonly Column[] = [id(), d]): Table =>
  table('t', columns, { ...byD, primaryKey: pk(['id', 'd']), partitions: [p2024], ...parts });
const child = (parts: Partial<Table> = {}): Table =>
  table('c', [id(), col('t_id', 'bigint'), col('t_d', 'date')], {
    foreignKeys: [fk('c_t_fk', ['t_id', 't_d'], 't', ['id', 'd'])],
    ...parts,
  });
const overT = (kind: 'view' | 'materializedView', name: string): NonNullable<Case['views']> => ({
  views: [
    kind === 'view'
      ? view(name, 'SELECT t.id\n   FROM public.t', ['id bigint'])
      : materializedView(name, 'SELECT t.id\n   FROM public.t', ['id bigint']),
  ],
  edges: [`${kind} public.${name} -> table public.t#id`],
});
const onT = (kind: Dependent['kind'], name: string, table = 't'): Dependent => ({
  kind,
  schema: 'public',
  name,
  ...(kind === 'trigger' ? { table } : {}),
  dependsOn: [{ schema: 'public', table }],
});

function facts(c: Case): SwapFacts {
  const live = c.live ?? liveT();
  const want = c.want ?? wantT();
  const withViews = (m: DatabaseModel, v = c.views): DatabaseModel => (v ? withViewsOf(m, v.views, v.edges) : m);
  const liveModel: DatabaseModel = {
    ...withViews(tables(live, ...(c.others ?? []))),
    ...(c.dependents ? { dependents: { functions: [], triggers: [], ...c.dependents } } : {}),
  };
  const ctx = new PlanContext({
    live: c.unmanaged ? { ...liveModel, dependencies: [...(liveModel.dependencies ?? []), ...c.unmanaged] } : liveModel,
    desired: withViews(tables(want, ...(c.desiredOthers ?? c.others ?? [])), c.desiredViews ?? c.views),
    serverMajor: c.serverMajor ?? 18,
    rowCounts: {},
    batchSize: 1000,
    rowsOutsidePartitions: { 'public.t': c.outside ?? 0 },
    bypassesRowSecurity: c.bypass ?? false,
  });
  for (const t of c.swapped ?? []) ctx.swappedTables.add(t);
  return {
    ctx,
    live,
    want,
    ref: { schema: 'public', name: 't' },
    partitionColumns: partitionColumns(want),
    ...(c.rewrite ? { rewrite: true } : {}),
  };
}

/** A rewrite of t (id `idType` as the key, n integer → `nType`): plain → plain. */
const rewrite = (idType: string, nType: string, n: Partial<Column> = {}): Case => ({
  rewrite: true,
  live: table('t', [col('id', 'integer', { nullable: false }), col('n', 'integer')], { primaryKey: pk(['id']) }),
  want: table('t', [col('id', idType, { nullable: false }), col('n', nType, n)], { primaryKey: pk(['id']) }),
});

const CASES: Readonly<Record<string, { readonly refused: Case; readonly allowed: Case }>> = {
  'key-without-partition-key': {
    refused: { want: wantT({ primaryKey: pk(['id']) }) },
    allowed: { want: wantT({ primaryKey: pk(['id', 'd']) }) },
  },
  'column-is-new': {
    refused: { want: wantT({}, [id(), d, col('x', 'text')]) },
    allowed: { live: liveT([id(), d, col('x', 'text')]), want: wantT({}, [id(), d, col('x', 'text')]) },
  },
  'column-changes': {
    refused: { want: wantT({}, [id(), col('d', 'timestamp with time zone', { nullable: false })]) },
    allowed: { want: wantT({}, [id(), col('d', 'date', { nullable: false, comment: 'comments are not compared' })]) },
  },
  'rewrite-using': {
    refused: rewrite('integer', 'bigint', { using: 'n * 2' }),
    allowed: rewrite('integer', 'bigint'),
  },
  'rewrite-key-type': {
    refused: rewrite('text', 'bigint'),
    allowed: rewrite('bigint', 'bigint'),
  },
  'column-is-dropped': {
    refused: { live: liveT([id(), d, col('x', 'text')]) },
    allowed: { live: liveT([id(), d]) },
  },
  'unlogged-changes': {
    refused: { want: wantT({ unlogged: true }) },
    allowed: { want: wantT({ unlogged: false }) },
  },
  'no-row-key': {
    refused: { live: liveT([id(), d], {}) },
    allowed: { live: liveT([id(), d], { uniqueConstraints: [unique('t_id_key', ['id'])] }) },
  },
  'no-key-with-row-key': {
    refused: { want: wantT({ primaryKey: pk(['d']) }) },
    allowed: { want: wantT({ primaryKey: pk(['id', 'd']) }) },
  },
  'self-referencing-foreign-key': {
    refused: {
      live: liveT([id(), d, col('parent', 'bigint')], {
        primaryKey: pk(['id']),
        foreignKeys: [fk('t_parent_fk', ['parent'], 't')],
      }),
    },
    allowed: { live: liveT([id(), d, col('parent', 'bigint')], { primaryKey: pk(['id']) }) },
  },
  'referencing-foreign-key-changes': {
    refused: {
      others: [child()],
      desiredOthers: [
        child({ foreignKeys: [fk('c_t_fk', ['t_id', 't_d'], 't', ['id', 'd'], { onDelete: 'cascade' })] }),
      ],
    },
    allowed: { others: [child()] },
  },
  'referenced-columns-not-unique': {
    refused: { others: [child({ foreignKeys: [fk('c_t_fk', ['t_id'], 't', ['id'])] })] },
    allowed: { others: [child()] },
  },
  'partitioned-referencing-table-before-18': {
    refused: { others: [child(byD)], serverMajor: 17 },
    allowed: { others: [child(byD)], serverMajor: 18 },
  },
  'new-referencing-foreign-key': {
    refused: { others: [child({ foreignKeys: [] })], desiredOthers: [child()] },
    allowed: { others: [child()], desiredOthers: [child()] },
  },
  'references-swapped-table': {
    refused: {
      others: [table('c', [id()], { primaryKey: pk(['id']) })],
      want: wantT({ foreignKeys: [fk('t_c_fk', ['id'], 'c', ['id'])] }),
      swapped: ['public.c'],
    },
    allowed: {
      others: [table('c', [id()], { primaryKey: pk(['id']) })],
      want: wantT({ foreignKeys: [fk('t_c_fk', ['id'], 'c', ['id'])] }),
    },
  },
  'not-valid-foreign-key-before-18': {
    refused: { want: wantT({ foreignKeys: [fk('t_c_fk', ['id'], 'c', ['id'], { valid: false })] }), serverMajor: 17 },
    allowed: { want: wantT({ foreignKeys: [fk('t_c_fk', ['id'], 'c', ['id'], { valid: false })] }), serverMajor: 18 },
  },
  'bounds-overlap': {
    refused: { want: wantT({ partitions: [p2024, partition('t_x', range('2024-06-01', '2026-01-01'))] }) },
    allowed: { want: wantT({ partitions: [p2024, partition('t_x', range('2025-01-01', '2026-01-01'))] }) },
  },
  'rows-outside-partitions': {
    refused: { outside: 3 },
    allowed: { outside: 0 },
  },
  'partition-foreign-key': {
    refused: {
      want: wantT({ partitions: [{ ...p2024, foreignKeys: [fk('t_2024_fk', ['id'], 'c')] } satisfies Partition] }),
    },
    allowed: { want: wantT({ partitions: [p2024] }) },
  },
  'partition-comment': {
    refused: { want: wantT({ partitions: [{ ...p2024, comment: '2024' }] }) },
    allowed: { want: wantT({ comment: 'on the table itself' }) },
  },
  inheritance: {
    refused: { live: liveT(undefined, { primaryKey: pk(['id']), inherits: ['public.base'] }) },
    allowed: { live: liveT(undefined, { primaryKey: pk(['id']) }) },
  },
  'partition-row-level-security': {
    refused: { want: wantT({ partitions: [{ ...p2024, rowLevelSecurity: true }] }) },
    // The table's own row level security, replica identity and CLUSTER ON are carried.
    allowed: {
      live: liveT(undefined, { primaryKey: pk(['id']), replicaIdentity: { kind: 'full' }, clusterOn: 't_pkey' }),
      want: wantT({ rowLevelSecurity: true, replicaIdentity: { kind: 'index', index: 't_pkey' } }),
    },
  },
  'forced-row-level-security': {
    refused: {
      live: liveT(undefined, { primaryKey: pk(['id']), forceRowLevelSecurity: true }),
      want: wantT({ forceRowLevelSecurity: true }),
    },
    // A superuser or BYPASSRLS role reads every row: FORCE kept is carried by the swap.
    allowed: {
      live: liveT(undefined, { primaryKey: pk(['id']), forceRowLevelSecurity: true }),
      want: wantT({ forceRowLevelSecurity: true }),
      bypass: true,
    },
  },
  'constraint-comment': {
    refused: { want: wantT({ primaryKey: { ...pk(['id', 'd']), comment: 'the key' } }) },
    allowed: { want: wantT({ primaryKey: pk(['id', 'd']) }) },
  },
  'materialized-view-changes': {
    // New in this plan (or with another query): it would be built over the live table first.
    refused: { views: { views: [], edges: [] }, desiredViews: overT('materializedView', 'mv') },
    // Kept as it is: built again over the new table after the swap.
    allowed: { views: overT('materializedView', 'mv') },
  },
  'unmanaged-dependent': {
    refused: { unmanaged: [{ from: 'function public.f()', to: 'table public.t', column: 'id' }] },
    allowed: { unmanaged: [{ from: 'function public.f()', to: 'table public.c', column: 'id' }] },
  },
  'user-trigger': {
    refused: { dependents: { triggers: [onT('trigger', 'tr')] } },
    allowed: { dependents: { triggers: [onT('trigger', 'tr', 'c')] } },
  },
};

const RULES = SWAP_CHECKS.flatMap((c: Check<unknown>) => c.rules.map((r) => [r.name, r, c] as const));

describe('partition swap refusal rules', () => {
  test('every rule has a case, and every case a rule', () => {
    expect(RULES.map(([name]) => name).sort()).toEqual(Object.keys(CASES).sort());
  });

  test.each(RULES)('%s refuses its case and lets the other through', (name, rule, check) => {
    const refuses = (c: Case): boolean => {
      const f = facts(c);
      return check.items(f).some((item) => rule.refuse(f, item) !== undefined);
    };
    expect(refuses(CASES[name]!.refused)).toBe(true);
    expect(refuses(CASES[name]!.allowed)).toBe(false);
  });
});
