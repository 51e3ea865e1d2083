/**
 * Why a partition swap cannot be planned: named rules, each `(facts, item) → reason | undefined`.
 * Unlike a column replacement, every reason is reported at once (a table is partitioned once: the
 * user fixes the desired state in one go). Rules are grouped into checks: a check applies its rules
 * to each of its items (a key, a column, a foreign key…), and the first rule that refuses an item
 * reports it; a check of the table as a whole has one item.
 */
import type { RelationRef } from '../../../diff/changes.js';
import { sameMaterializedView } from '../../../diff/diff.js';
import { docPath } from '../../../diff/paths.js';
import { stableStringify } from '../../../model/canonical.js';
import { withoutDirectives } from '../../../model/directives.js';
import { qualified, qualifiedRef } from '../../../model/names.js';
import { objectFingerprints, objectKey } from '../../../model/objects.js';
import { routineKey } from '../../../model/routines.js';
import type { Column, ForeignKey, MaterializedView, RelationParts, Table } from '../../../model/types.js';
import type { PlanContext } from '../../context.js';
import { indexColumns, rowKey } from '../../row-key.js';
import {
  bodyRoutines,
  boundProblems,
  liveMaterializedViews,
  partitionRefs,
  uniqueSets,
  usesRowTypeOf,
} from './decide.js';

export interface SwapFacts {
  readonly ctx: PlanContext;
  readonly live: Table;
  readonly want: Table;
  readonly ref: RelationRef;
  /** The desired partition key's plain columns (none when the desired table is plain). */
  readonly partitionColumns: readonly string[];
  /** Partitioned → plain: the swap in reverse. */
  readonly reverse?: boolean;
  /** Plain → plain with column types changed (`typeChanges: swap`). */
  readonly rewrite?: boolean;
}

/** What the swap does to the table, for messages. */
const doing = (f: SwapFacts): string =>
  f.rewrite
    ? 'rewriting the table into a new one (typeChanges: swap)'
    : f.reverse
      ? 'turning the partitioned table into a plain table'
      : 'partitioning the table';
const being = (f: SwapFacts): string =>
  f.rewrite ? 'being rewritten into a new table' : f.reverse ? 'being turned into a plain table' : 'being partitioned';
const newTable = (f: SwapFacts): string =>
  f.rewrite ? 'the new table' : f.reverse ? 'the plain table' : 'the partitioned table';
/** The new table is a plain one (an unpartition or a rewrite). */
const plainTarget = (f: SwapFacts): boolean => f.reverse === true || f.rewrite === true;

/** Integer types a key column of a rewrite may move between: the copy and the trigger compare them as they are. */
const INTEGERS = new Set(['smallint', 'integer', 'bigint']);

/** A reason, on the table (at a path below its own in the desired state) or on another object. */
export interface Refusal {
  readonly message: string;
  /** Below the table's desired-state path (`['columns', 'x']`); none: the table itself. */
  readonly at?: readonly string[];
  /** Another object than the table (a foreign key of another table), and its desired-state path. */
  readonly object?: { readonly name: string; readonly path: string };
}

export interface Rule<X> {
  readonly name: string;
  refuse(f: SwapFacts, item: X): Refusal | undefined;
}

/** Rules applied to each item of a check; the first that refuses an item reports it. */
export interface Check<X> {
  readonly items: (f: SwapFacts) => readonly X[];
  readonly rules: readonly Rule<X>[];
}
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
/** A column as the swap compares it: its privileges are carried by the swap (desired or live, steps.ts). */
const comparableColumn = (c: Column, rewrite = false): string => {
  const { kind: _k, comment: _c, grants: _g, ...rest } = withoutDirectives(c);
  // A rewrite changes column types: the rest of the column must stay.
  if (rewrite) return stableStringify({ ...rest, type: undefined });
  return stableStringify(rest);
};
const on = (message: string, ...at: string[]): Refusal => ({ message, at });
const onColumn = (c: Column, what: string): Refusal => on(`column ${c.name} ${what}`, 'columns', c.name);
const fkOn = (owner: RelationRef, fk: { readonly name: string }, message: string): Refusal => ({
  message,
  object: {
    name: `foreign key ${fk.name} on ${qualifiedRef(owner)}`,
    path: docPath(['schemas', owner.schema, 'tables', owner.name, 'foreignKeys', fk.name]),
  },
});

/** A check of items of one kind (for the types of its rules). */
const check = <X>(c: Check<X>): Check<X> => c;
/** A check of the table as a whole. */
const whole = (rule: Rule<undefined>): Check<undefined> => ({ items: () => [undefined], rules: [rule] });

interface Key {
  readonly what: string;
  readonly columns: readonly string[];
  readonly at: readonly string[];
}

/** The desired table's unique keys, each with its path. */
function keysOf(want: Table): Key[] {
  const keys: Key[] = [];
  if (want.primaryKey) {
    keys.push({ what: `primary key ${want.primaryKey.name}`, columns: want.primaryKey.columns, at: ['primaryKey'] });
  }
  for (const u of want.uniqueConstraints) {
    keys.push({ what: `unique constraint ${u.name}`, columns: u.columns, at: ['uniqueConstraints', u.name] });
  }
  for (const i of want.indexes) {
    if (i.unique) keys.push({ what: `unique index ${i.name}`, columns: indexColumns(i), at: ['indexes', i.name] });
  }
  return keys;
}

function hasComments(r: RelationParts): boolean {
  return r.partitions.some((p) => p.comment !== undefined || hasComments(p));
}

/**
 * Row level security on a partition (at any depth). The table's own is carried by the swap, and so
 * are the replica identity and CLUSTER ON of the table (set in the swap transaction) and of its
 * partitions (set when expand creates them).
 */
function hasPartitionRowSecurity(r: RelationParts): boolean {
  return r.partitions.some(
    (p) => p.rowLevelSecurity !== undefined || p.forceRowLevelSecurity !== undefined || hasPartitionRowSecurity(p),
  );
}

function hasConstraintComments(r: RelationParts): boolean {
  const keys = [...(r.primaryKey ? [r.primaryKey] : []), ...r.uniqueConstraints, ...r.checks, ...r.foreignKeys];
  return (
    [...keys, ...r.exclusionConstraints].some((c) => c.comment !== undefined) ||
    r.partitions.some(hasConstraintComments)
  );
}

/** A column of the desired table with its live namesake, then each live column the desired table drops. */
interface ColumnPair {
  readonly live?: Column;
  readonly want?: Column;
}

function columnPairs({ live, want }: SwapFacts): ColumnPair[] {
  return [
    ...want.columns.map((w): ColumnPair => {
      const l = live.columns.find((x) => x.name === w.name);
      return l ? { want: w, live: l } : { want: w };
    }),
    ...live.columns.filter((l) => !want.columns.some((w) => w.name === l.name)).map((l): ColumnPair => ({ live: l })),
  ];
}

/** A live foreign key of any relation that references the table, with the relation that has it. */
type Referencing = readonly [RelationRef, ForeignKey];

export const SWAP_CHECKS: readonly Check<unknown>[] = [
  check<Key>({
    items: ({ want }) => keysOf(want),
    rules: [
      {
        // Keys of a partitioned table must contain the partition key (a PostgreSQL rule).
        name: 'key-without-partition-key',
        refuse: ({ partitionColumns }, k) => {
          const missing = partitionColumns.filter((c) => !k.columns.includes(c));
          return missing.length > 0
            ? on(
                `${k.what} (${k.columns.join(', ')}) must contain the partition key of a partitioned table: add ${missing.join(', ')} to its columns`,
                ...k.at,
              )
            : undefined;
        },
      },
    ],
  }),
  check<ColumnPair>({
    items: columnPairs,
    rules: [
      {
        name: 'column-is-new',
        refuse: (f, { live, want }) =>
          want && !live ? onColumn(want, `is new: add it in a plan of its own before ${doing(f)}`) : undefined,
      },
      {
        name: 'column-changes',
        refuse: (f, { live, want }) =>
          want && live && comparableColumn(live, f.rewrite) !== comparableColumn(want, f.rewrite)
            ? onColumn(
                want,
                f.rewrite
                  ? `changes more than its type: change the rest in a plan of its own before ${doing(f)}`
                  : `changes too: change it in a plan of its own before ${doing(f)}`,
              )
            : undefined,
      },
      {
        // The copy converts with a plain cast; a `using` expression is the replacement column's.
        name: 'rewrite-using',
        refuse: (f, { live, want }) =>
          f.rewrite && want?.using !== undefined && live !== undefined && live.type !== want.type
            ? on(
                `column ${want.name}: a \`using\` expression is not supported by ${doing(f)}: the copy converts each value with a cast to ${want.type}; plan it with typeChanges: column`,
                'columns',
                want.name,
                'using',
              )
            : undefined,
      },
      {
        // The copy finds a row's copy, and the trigger the row to delete, by comparing the live key
        // with the new table's: values of both types must compare as equal (integers do).
        name: 'rewrite-key-type',
        refuse: (f, { live, want }) =>
          f.rewrite &&
          live !== undefined &&
          want !== undefined &&
          live.type !== want.type &&
          (rowKey(f.live) ?? []).includes(live.name) &&
          !(INTEGERS.has(live.type) && INTEGERS.has(want.type))
            ? onColumn(
                want,
                `is in the table's key (${(rowKey(f.live) ?? []).join(', ')}): ${doing(f)} changes a key column's type only between smallint, integer and bigint; plan it with typeChanges: column`,
              )
            : undefined,
      },
      {
        name: 'column-is-dropped',
        refuse: (f, { live, want }) =>
          live && !want
            ? on(
                `column ${live.name} is dropped too: drop it in a plan of its own before or after ${doing(f)}`,
                'columns',
              )
            : undefined,
      },
    ],
  }),
  whole({
    name: 'unlogged-changes',
    refuse: ({ live, want }) =>
      live.unlogged !== want.unlogged
        ? on('UNLOGGED changes too: change it in a plan of its own', 'unlogged')
        : undefined,
  }),
  check<undefined>({
    items: () => [undefined],
    rules: [
      {
        name: 'no-row-key',
        refuse: (f) =>
          rowKey(f.live) === undefined
            ? on(
                `the live table has no primary key or unique key over NOT NULL columns: zdm needs one to keep ${plainTarget(f) ? (f.rewrite ? 'the new' : 'the plain') : 'the partitioned'} copy in step and to copy in batches; add one in a plan of its own first`,
              )
            : undefined,
      },
      {
        name: 'no-key-with-row-key',
        refuse: (f) => {
          const { live, want, partitionColumns } = f;
          const key = rowKey(live) ?? [];
          return uniqueSets(want).some((u) => key.every((c) => u.columns.includes(c)))
            ? undefined
            : on(
                `${newTable(f)} needs a primary or unique key that contains the live key (${key.join(', ')}), e.g. primaryKey: { columns: [${[...new Set([...key, ...partitionColumns])].join(', ')}] }`,
              );
        },
      },
    ],
  }),
  check<Referencing>({
    // Foreign keys of other tables to this one are re-pointed at the partitioned table by the swap:
    // only possible when the desired table is unique on exactly the referenced columns. One the
    // desired state drops is dropped in contract before the swap.
    items: ({ ctx, ref }) => ctx.liveForeignKeysTo(ref),
    rules: [
      {
        name: 'self-referencing-foreign-key',
        refuse: (f, [owner, fk]) =>
          owner.schema === f.ref.schema && owner.name === f.ref.name
            ? on(
                `foreign key ${fk.name} references the table itself: ${doing(f).replace(/the table$/, 'such a table')} is not supported yet`,
                'foreignKeys',
                fk.name,
              )
            : undefined,
      },
      {
        name: 'referencing-foreign-key-changes',
        refuse: (facts, [owner, fk]) => {
          const desired = facts.ctx.desiredRelation(owner)?.foreignKeys.find((f) => f.name === fk.name);
          return desired !== undefined && stableStringify(desired) !== stableStringify(fk)
            ? fkOn(
                owner,
                fk,
                `references ${qualifiedRef(facts.ref)}, which is ${being(facts)}: change the foreign key in a plan of its own`,
              )
            : undefined;
        },
      },
      {
        name: 'referenced-columns-not-unique',
        refuse: (facts, [owner, fk]) => {
          const { ctx, ref, want, partitionColumns } = facts;
          const kept = ctx.desiredRelation(owner)?.foreignKeys.some((f) => f.name === fk.name) ?? false;
          const cols = fk.references.columns;
          if (!kept || uniqueSets(want).some((u) => sameSet(u.columns, cols))) return undefined;
          if (plainTarget(facts)) {
            return fkOn(
              owner,
              fk,
              `references ${qualifiedRef(ref)} (${cols.join(', ')}), and the desired plain table has no primary key, unique constraint or unique index on exactly those columns: ` +
                'keep one in the desired state, or drop the foreign key',
            );
          }
          const need = [...cols, ...partitionColumns.filter((c) => !cols.includes(c))];
          return fkOn(
            owner,
            fk,
            `references ${qualifiedRef(ref)} (${cols.join(', ')}), which cannot stay unique once the table is partitioned by ` +
              `${want.partitionBy?.columns.join(', ')} (a unique key of a partitioned table must contain the partition key): ` +
              `the desired state must make it reference columns [${need.join(', ')}] (with matching columns on ${qualifiedRef(owner)}) ` +
              'and keep a unique key on exactly those columns, or drop the foreign key',
          );
        },
      },
      {
        name: 'partitioned-referencing-table-before-18',
        refuse: (facts, [owner, fk]) => {
          const { ctx, ref } = facts;
          const kept = ctx.desiredRelation(owner)?.foreignKeys.some((f) => f.name === fk.name) ?? false;
          return kept && ctx.isPartitioned(owner) && ctx.input.serverMajor < 18
            ? fkOn(
                owner,
                fk,
                `would be re-pointed NOT VALID at the ${facts.rewrite ? 'new' : facts.reverse ? 'plain' : 'partitioned'} ${qualifiedRef(ref)}, which PostgreSQL ${ctx.input.serverMajor} refuses on a partitioned table (it needs 18)`,
              )
            : undefined;
        },
      },
    ],
  }),
  check<Referencing>({
    items: ({ ctx, ref }) =>
      ctx.desired.schemas.flatMap((s) =>
        s.tables.flatMap((t) =>
          t.foreignKeys
            .filter((f) => f.references.schema === ref.schema && f.references.table === ref.name)
            .map((f): Referencing => [{ schema: s.name, name: t.name }, f]),
        ),
      ),
    rules: [
      {
        name: 'new-referencing-foreign-key',
        refuse: (facts, [owner, f]) =>
          facts.ctx.liveRelation(owner)?.foreignKeys.some((x) => x.name === f.name) ||
          (owner.schema === facts.ref.schema && owner.name === facts.ref.name)
            ? undefined
            : fkOn(
                owner,
                f,
                `is new and references ${qualifiedRef(facts.ref)}, which is ${being(facts)}: add it in a later plan`,
              ),
      },
    ],
  }),
  check<ForeignKey>({
    items: ({ want }) => want.foreignKeys,
    rules: [
      {
        // The new table's foreign key is created in expand and binds the referenced table by OID:
        // the other swap would leave it pointing at the retired table.
        name: 'references-swapped-table',
        refuse: (f, fk) => {
          const to = `${fk.references.schema}.${fk.references.table}`;
          return to !== `${f.ref.schema}.${f.ref.name}` && f.ctx.swappedTables.has(to)
            ? on(
                `foreign key ${fk.name} references ${qualified(fk.references.schema, fk.references.table)}, which this plan also swaps for a new table: ` +
                  `swap one of them in a plan of its own (or plan the type changes of both with typeChanges: column)`,
                'foreignKeys',
                fk.name,
              )
            : undefined;
        },
      },
      {
        name: 'not-valid-foreign-key-before-18',
        refuse: (facts, f) =>
          !plainTarget(facts) && !f.valid && facts.ctx.input.serverMajor < 18
            ? on(`foreign key ${f.name} NOT VALID on a partitioned table needs PostgreSQL 18`, 'foreignKeys', f.name)
            : undefined,
      },
    ],
  }),
  check<string>({
    items: ({ want }) => boundProblems(want.partitions, want.partitionBy?.columns.length ?? 0).overlaps,
    rules: [{ name: 'bounds-overlap', refuse: (_, o) => on(`partition bounds overlap: ${o}`, 'partitions') }],
  }),
  whole({
    name: 'rows-outside-partitions',
    refuse: ({ ctx, ref }) => {
      const outside = ctx.input.rowsOutsidePartitions?.[qualifiedRef(ref)] ?? 0;
      return outside > 0
        ? on(
            `${outside} live row${outside === 1 ? '' : 's'} would fall into no partition: add partitions that cover them or a default partition`,
            'partitions',
          )
        : undefined;
    },
  }),
  whole({
    name: 'partition-foreign-key',
    refuse: ({ want }) =>
      want.partitions.some((p) => p.foreignKeys.length > 0 || p.partitions.some((q) => q.foreignKeys.length > 0))
        ? on('foreign keys declared on single partitions are not supported by the partition swap yet', 'partitions')
        : undefined,
  }),
  whole({
    name: 'partition-comment',
    refuse: ({ want }) =>
      hasComments(want)
        ? on(
            'comments on partitions are not supported by the partition swap yet: set them in a later plan',
            'partitions',
          )
        : undefined,
  }),
  whole({
    // PostgreSQL: a partitioned table cannot inherit; a live parent's children would stay on the retired table.
    name: 'inheritance',
    refuse: ({ live }) =>
      live.inherits !== undefined
        ? on(`the table inherits from ${live.inherits.join(', ')} (INHERITS): a partitioned table cannot`)
        : undefined,
  }),
  whole({
    // Not carried yet: row level security on a partition. The table's own, its replica identity and
    // CLUSTER ON are carried (steps.ts); PostgreSQL refuses CLUSTER ON on a partitioned table, which
    // the desired-state loader reports already.
    name: 'partition-row-level-security',
    refuse: ({ live, want }) =>
      hasPartitionRowSecurity(live) || hasPartitionRowSecurity(want)
        ? on(
            'row level security on partitions is not carried by the partition swap yet: ' +
              'turn it off on the partitions in a plan of its own first, and on again in a later plan',
            'partitions',
          )
        : undefined,
  }),
  whole({
    // The copy and the verify steps read the live table as the role that applies the plan, with
    // row_security = off (src/apply/copy.ts): a superuser or a BYPASSRLS role reads every row; the
    // table's owner, whom FORCE ROW LEVEL SECURITY subjects to the policies, would have them fail
    // (rather than leave the rows they hide out of the copy, lost at the swap). FORCE kept is
    // carried to the new table in the swap transaction; set by this plan it comes after the swap,
    // in contract; removed by it, in expand, before the copy.
    name: 'forced-row-level-security',
    refuse: ({ ctx, live, want }) =>
      live.forceRowLevelSecurity && want.forceRowLevelSecurity && ctx.input.bypassesRowSecurity !== true
        ? on(
            "FORCE ROW LEVEL SECURITY subjects the table's owner to its policies, and the role making this plan is neither a superuser nor BYPASSRLS: " +
              'the copy of the live table would not see the rows the policies hide. Plan and apply as a role with BYPASSRLS ' +
              '(ALTER ROLE … BYPASSRLS), or turn FORCE off (NO FORCE) in a plan of its own first and on again in a later plan',
            'forceRowLevelSecurity',
          )
        : undefined,
  }),
  whole({
    name: 'constraint-comment',
    refuse: ({ want }) =>
      hasConstraintComments(want)
        ? on('comments on constraints are not supported by the partition swap yet: set them in a later plan')
        : undefined,
  }),
  check<readonly [MaterializedView | undefined, MaterializedView]>({
    // A materialized view over the table is built again over the new table after the swap
    // (materialized-views.ts): one the plan creates or changes too would be built over the live table
    // first, and its own steps would race the rebuild.
    items: ({ ctx, ref }) => liveMaterializedViews(ctx, ref),
    rules: [
      {
        name: 'materialized-view-changes',
        refuse: (f, [live, want]) =>
          live === undefined || !sameMaterializedView(live, want)
            ? {
                message: `reads ${qualifiedRef(f.ref)}, which is ${being(f)}, and is ${live === undefined ? 'new' : 'changed'} in this plan too: ${live === undefined ? 'create it in a later plan' : 'change it in a plan of its own'}`,
                object: {
                  name: `materialized view ${qualified(want.schema, want.name)}`,
                  path: docPath(['schemas', want.schema, 'materializedViews', want.name]),
                },
              }
            : undefined,
      },
    ],
  }),
  whole({
    name: 'unmanaged-dependent',
    refuse: ({ ctx, ref }) => {
      // Triggers have their own rule; views are re-pointed by the swap, and so are routines of the
      // desired state whose SQL-standard body reads the table (replaced in the swap), unless their
      // result or an argument is the table's row type.
      const carried = new Set(
        bodyRoutines(ctx, ref)
          .filter((r) => !usesRowTypeOf(r, ref))
          .map(routineKey),
      );
      const deps = ctx.unmanagedDependents(ref).filter((k) => !k.startsWith('trigger ') && !carried.has(k));
      return deps.length > 0
        ? on(
            `${ctx.namedDependents(deps).join(', ')} depend${deps.length === 1 ? 's' : ''} on the table: ` +
              'they would keep reading the retired table; drop them first and recreate them after contract',
          )
        : undefined;
    },
  }),
  whole({
    name: 'user-trigger',
    refuse: (f) => {
      const { ctx, ref } = f;
      // Triggers of the model move with the swap (steps.ts); only others (zdm's own, of a plan in
      // flight) would stay behind.
      const managed = new Set(
        ctx.live.schemas.flatMap((s) =>
          s.triggers.filter((t) => t.schema === ref.schema && t.table === ref.name).map((t) => t.name),
        ),
      );
      const triggers = ctx.userTriggersOn(ref).filter((t) => !managed.has(t.name));
      return triggers.length > 0
        ? on(
            `trigger${triggers.length === 1 ? '' : 's'} ${triggers.map((t) => t.name).join(', ')} (not managed by zdm) on the table would not move to ${newTable(f)}: drop them first and recreate them after contract`,
          )
        : undefined;
    },
  }),
];

/**
 * Partitioned → plain only: what hangs on the live table's partitions. The partitions go with the
 * retired table (dropped in contract), so nothing may read or reference them, and no desired
 * relation may take a partition's name while it still exists.
 */
export const UNPARTITION_CHECKS: readonly Check<unknown>[] = [
  check<RelationRef>({
    items: ({ live }) => partitionRefs(live),
    rules: [
      {
        name: 'partition-name-taken',
        refuse: ({ ctx, ref }, p) =>
          ctx.desiredRelation(p) !== undefined
            ? on(
                `the desired state has a relation named ${qualifiedRef(p)}, a partition of the live ${qualifiedRef(ref)} until contract drops it: ` +
                  'create it in a later plan, or rename the partition first',
                'partitions',
              )
            : undefined,
      },
      {
        name: 'partition-referenced',
        refuse: ({ ctx }, p) => {
          const fks = ctx.liveForeignKeysTo(p);
          return fks.length > 0
            ? on(
                `foreign key${fks.length === 1 ? '' : 's'} ${fks.map(([o, f]) => `${f.name} on ${qualifiedRef(o)}`).join(', ')} reference${fks.length === 1 ? 's' : ''} the partition ${qualifiedRef(p)}, which the swap drops: ` +
                  'drop or re-point them in a plan of their own first',
                'partitions',
              )
            : undefined;
        },
      },
      {
        name: 'partition-dependent',
        refuse: ({ ctx }, p) => {
          // What reads the partition itself (a view, a function, a policy of another table…), but not
          // what is on it (it goes with it), nor what this plan drops before contract's drops: a
          // managed object of a desired schema that the desired state leaves out.
          const desired = objectFingerprints(ctx.desired);
          const managedSchemas = new Set(ctx.desired.schemas.map((x) => x.name));
          const own = ` on ${qualifiedRef(p)}`;
          const deps = ctx.liveGraph.dependentsOf(objectKey('table', p.schema, p.name)).filter((k) => {
            if (k.endsWith(own)) return false;
            const schema = /^[a-zA-Z]+ ([^.]+)\./.exec(k)?.[1];
            return k in desired || schema === undefined || !managedSchemas.has(schema);
          });
          return deps.length > 0
            ? on(
                `${deps.join(', ')} depend${deps.length === 1 ? 's' : ''} on the partition ${qualifiedRef(p)}, which the swap drops with the partitioned table: ` +
                  'zdm cannot carry them to the plain table; drop them first (or make them read the table itself) and recreate them after contract',
                'partitions',
              )
            : undefined;
        },
      },
    ],
  }),
];

/** Every reason the swap cannot be planned, in the order of the checks; empty when it can. */
export function swapRefusals(f: SwapFacts): Refusal[] {
  const out: Refusal[] = [];
  for (const c of f.reverse ? [...SWAP_CHECKS, ...UNPARTITION_CHECKS] : SWAP_CHECKS) {
    for (const item of c.items(f)) {
      for (const rule of c.rules) {
        const r = rule.refuse(f, item);
        if (r !== undefined) {
          out.push(r);
          break;
        }
      }
    }
  }
  return out;
}
