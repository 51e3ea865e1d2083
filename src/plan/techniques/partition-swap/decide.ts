/**
 * What a partition swap does, as data (no SQL, no model edit): the key the copy walks and the
 * mirror matches rows by, the columns copied, the views recreated, the foreign keys re-pointed, the
 * sequences and identities carried over; and the facts about the desired partitions the refusal
 * rules and the hazards need.
 */
import {
  type PartitionTable,
  type RelationRef,
  type RewriteTable,
  rewrittenTypes,
  type UnpartitionTable,
} from '../../../diff/changes.js';
import { elementTypeName } from '../../../model/composite-types.js';
import { qualified } from '../../../model/names.js';
import { objectKey } from '../../../model/objects.js';
import { liveOwnerOf, ownerOf } from '../../../model/owners.js';
import { routineKey } from '../../../model/routines.js';
import type {
  ForeignKey,
  Grant,
  MaterializedView,
  Partition,
  PartitionBound,
  RelationParts,
  Routine,
  Sequence,
  Table,
} from '../../../model/types.js';
import { mirrorMatchColumns } from '../../../sql/triggers.js';
import { findViewLike, type PlanContext, type ViewLike } from '../../context.js';
import { indexColumns, rowKey } from '../../row-key.js';
import type { CopyGuard } from '../../types.js';

/** Plain-column elements of a partition key (expressions are parenthesized and left out). */
export function partitionColumns(t: Table): string[] {
  return (t.partitionBy?.columns ?? []).filter((c) => !c.startsWith('('));
}

/** Column sets the desired table is unique on: what a foreign key may reference, what ON CONFLICT catches. */
export function uniqueSets(t: Table): { what: string; columns: readonly string[] }[] {
  const out: { what: string; columns: readonly string[] }[] = [];
  if (t.primaryKey) out.push({ what: `primary key ${t.primaryKey.name}`, columns: t.primaryKey.columns });
  for (const u of t.uniqueConstraints) out.push({ what: `unique constraint ${u.name}`, columns: u.columns });
  for (const i of t.indexes) {
    if (i.unique && i.where === undefined && i.keys.every((k) => k.column !== undefined)) {
      out.push({ what: `unique index ${i.name}`, columns: indexColumns(i) });
    }
  }
  return out;
}

/** Bound values as numbers where they can be compared at plan time (numbers, dates, timestamps). */
function comparable(v: string): number | undefined {
  if (/^minvalue$/i.test(v)) return Number.NEGATIVE_INFINITY;
  if (/^maxvalue$/i.test(v)) return Number.POSITIVE_INFINITY;
  const text = v.replace(/::[\w ."[\]]+$/, '').replace(/^'(.*)'$/, '$1');
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*([+-]\d{2}(?::?\d{2})?|Z)?$/.exec(text);
  if (!m) return undefined;
  let zone = m[3] ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface BoundProblems {
  readonly overlaps: string[];
  readonly gaps: string[];
}

/**
 * Overlapping bounds and gaps between range partitions (single-column keys whose values compare
 * at plan time), and list values claimed by two partitions. PostgreSQL refuses overlaps too, but
 * only when expand creates the shadow; a gap it accepts, and every row written into one fails.
 */
export function boundProblems(parts: readonly Partition[], columns: number): BoundProblems {
  const overlaps: string[] = [];
  const gaps: string[] = [];
  const ranges: { p: Partition; from: number; to: number; b: Extract<PartitionBound, { kind: 'range' }> }[] = [];
  const listed = new Map<string, string>();
  for (const p of parts) {
    const b = p.bound;
    if (b.kind === 'range' && columns === 1) {
      const from = comparable(b.from[0] ?? '');
      const to = comparable(b.to[0] ?? '');
      if (from !== undefined && to !== undefined) ranges.push({ p, from, to, b });
    } else if (b.kind === 'list') {
      for (const v of b.values) {
        const other = listed.get(v);
        if (other !== undefined) overlaps.push(`partitions ${other} and ${p.name} both list the value ${v}`);
        else listed.set(v, p.name);
      }
    }
  }
  ranges.sort((x, y) => x.from - y.from || x.to - y.to);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.from < prev.to) {
      overlaps.push(
        `partition ${cur.p.name} (from ${cur.b.from.join(', ')}) overlaps partition ${prev.p.name} (to ${prev.b.to.join(', ')})`,
      );
    } else if (cur.from > prev.to) {
      gaps.push(
        `between ${prev.b.to.join(', ')} (end of ${prev.p.name}) and ${cur.b.from.join(', ')} (start of ${cur.p.name})`,
      );
    }
  }
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  if (first && first.from !== Number.NEGATIVE_INFINITY) gaps.push(`before ${first.b.from.join(', ')}`);
  if (last && last.to !== Number.POSITIVE_INFINITY) gaps.push(`from ${last.b.to.join(', ')} on`);
  return { overlaps, gaps };
}

/** Rows no desired partition takes, by the bounds alone: none when there is a default partition. */
export function uncoveredRanges(want: Table): string[] {
  const { gaps } = boundProblems(want.partitions, want.partitionBy?.columns.length ?? 0);
  return want.partitions.some((p) => p.bound.kind === 'default') ? [] : gaps;
}

/**
 * Views and materialized views that read the table when contract swaps it: those of the desired
 * state (created, replaced or kept before the swap; dropped ones go in contract before it).
 */
export function dependentViews(ctx: PlanContext, ref: RelationRef): ViewLike[] {
  return ctx.desiredGraph
    .dependentsOf(objectKey('table', ref.schema, ref.name))
    .flatMap((k) => findViewLike(ctx.desired, k) ?? []);
}

/** The desired materialized views over the table, each with its live namesake (none: new in this plan). */
export function liveMaterializedViews(
  ctx: PlanContext,
  ref: RelationRef,
): (readonly [MaterializedView | undefined, MaterializedView])[] {
  return dependentViews(ctx, ref).flatMap((v) =>
    v.kind === 'materializedView'
      ? [
          [
            ctx.live.schemas.find((s) => s.name === v.schema)?.materializedViews.find((m) => m.name === v.name),
            v,
          ] as const,
        ]
      : [],
  );
}

/**
 * Routines of the desired state whose SQL-standard body (`RETURN …`, `BEGIN ATOMIC … END`) reads the
 * table: PostgreSQL binds such a body to the table's OID (pg_depend), so it would keep reading the
 * retired table; the swap replaces them (CREATE OR REPLACE) once the new table has the name.
 */
export function bodyRoutines(ctx: PlanContext, ref: RelationRef): Routine[] {
  const keys = new Set(ctx.desiredGraph.dependentsOf(objectKey('table', ref.schema, ref.name)));
  return ctx.desired.schemas.flatMap((s) => s.functions.filter((r) => r.sqlBody === true && keys.has(routineKey(r))));
}

/** Whether the routine's result or an argument is the table's row type (its OID goes with the retired table). */
export function usesRowTypeOf(r: Routine, ref: RelationRef): boolean {
  const name = qualified(ref.schema, ref.name);
  return [r.returns ?? '', ...r.arguments.map((a) => a.type)].some(
    (t) => elementTypeName(t.replace(/^SETOF\s+/i, '').trim()) === name,
  );
}

/** Every partition of a partitioned table, at every level (sub-partitions after their parent). */
export function partitionRefs(r: RelationParts): RelationRef[] {
  return r.partitions.flatMap((p) => [{ schema: p.schema, name: p.name }, ...partitionRefs(p)]);
}

/** The swap, once the refusal rules let it through. */
export interface Swap {
  readonly ref: RelationRef;
  /** Partitioned → plain (an unpartition): the live table is the partitioned one. */
  readonly reverse: boolean;
  /** Plain → plain with column types changed (a rewrite, `typeChanges: swap`). */
  readonly rewrite: boolean;
  /** A rewrite's changed columns, each with its desired type: the mirror, copy and verify convert them. */
  readonly casts: Readonly<Record<string, string>>;
  /** The live table's partitions (reverse only): every lock on the live table is taken on them too. */
  readonly livePartitions: readonly RelationRef[];
  readonly live: Table;
  readonly want: Table;
  /** The live table's row key: the copy walks it, the mirror finds a row's copy by it (and the partition key). */
  readonly key: readonly string[];
  readonly partitionColumns: readonly string[];
  /** Columns copied (every column but generated ones), in the live table's order. */
  readonly columns: readonly string[];
  /** The copy writes a GENERATED ALWAYS identity column: `OVERRIDING SYSTEM VALUE`. */
  readonly overridingSystemValue: boolean;
  /** How the copy keeps concurrent writes of the rows it copies (copyGuard). */
  readonly guard: CopyGuard;
  /** Value ranges no partition takes: the application's writes there fail once the mirror runs. */
  readonly uncovered: readonly string[];
  /** Views over the table, recreated over the new table by the swap. */
  readonly views: readonly ViewLike[];
  /**
   * Materialized views over the table, live and desired (the same: rules.ts): built again over the
   * new table right after the swap and swapped in by rename (materialized-views.ts).
   */
  readonly materializedViews: readonly (readonly [MaterializedView, MaterializedView])[];
  /** Foreign keys of other tables to the table that the desired state keeps: re-pointed NOT VALID by the swap. */
  readonly repointed: readonly (readonly [RelationRef, ForeignKey])[];
  /** Sequences the table's columns own: their ownership moves to the new table. */
  readonly ownedSequences: readonly Sequence[];
  /** Identity columns: their sequence continues past both the old sequence and the copied values. */
  readonly identityColumns: readonly string[];
  /**
   * Privileges granted again on the new table: the desired ones where the desired state manages
   * them, else the live table's (GRANT on a relation goes with its OID, so with the retired table).
   */
  readonly grants: readonly Grant[];
  /** The same for each column that has any. */
  readonly columnGrants: readonly (readonly [string, readonly Grant[]])[];
  /** Routines whose SQL-standard body reads the table: replaced in the swap, to read the new table. */
  readonly routines: readonly Routine[];
  /**
   * The role the new table (and its partitions) is given in the swap: the desired owner where the
   * desired state manages it, else the live table's (expand created the shadow as the role applying
   * the plan). Unknown (a live model without owners): none.
   */
  readonly owner?: string;
}

/**
 * The copy's guard (CopyGuard, src/plan/types.ts): `repair` where the mirror's insert can be an upsert
 * on the columns that find a row's copy (`match`) and a copy left behind by a delete can never meet
 * the application's write on another rule: the new table is unique on `match` (a primary key or
 * unique constraint that is not deferrable, over NOT NULL columns), on no other column set (no other
 * unique constraint or index, no exclusion constraint: a left-behind copy would fail the
 * application's insert of a row with its values), and every column the upsert rewrites may be
 * updated (no GENERATED ALWAYS identity column outside `match`). Else `for-share`.
 */
export function copyGuard(want: Table, match: readonly string[], columns: readonly string[]): CopyGuard {
  const same = (cols: readonly string[]) => cols.length === new Set(match).size && cols.every((c) => match.includes(c));
  const constraints = [...(want.primaryKey ? [want.primaryKey] : []), ...want.uniqueConstraints];
  const arbiter = constraints.some((k) => !k.deferrable && same(k.columns));
  const others =
    constraints.some((k) => k.deferrable || !same(k.columns)) ||
    want.exclusionConstraints.length > 0 ||
    want.indexes.some(
      (i) =>
        i.unique && (i.where !== undefined || i.keys.some((k) => k.column === undefined) || !same(indexColumns(i))),
    );
  const notNull = match.every((c) => want.columns.find((x) => x.name === c)?.nullable === false);
  const updatable = want.columns.every(
    (c) => match.includes(c.name) || !columns.includes(c.name) || c.identity !== 'always',
  );
  return arbiter && !others && notNull && updatable ? 'repair' : 'for-share';
}

/** The privileges the new table takes (see `Swap.grants`). */
function carriedGrants(live: Table, want: Table): Pick<Swap, 'grants' | 'columnGrants'> {
  const from = want.grants !== undefined ? want : live;
  return {
    grants: from.grants ?? [],
    columnGrants: from.columns.flatMap((c) => ((c.grants ?? []).length > 0 ? [[c.name, c.grants ?? []] as const] : [])),
  };
}

export function decideSwap(ctx: PlanContext, ch: PartitionTable | UnpartitionTable | RewriteTable): Swap {
  const live = ch.from;
  const ref = { schema: live.schema, name: live.name };
  const key = rowKey(live)!;
  const columns = live.columns.filter((c) => c.generated === undefined).map((c) => c.name);
  const match = mirrorMatchColumns({ key, partitionColumns: partitionColumns(ch.to) });
  return {
    ref,
    reverse: ch.kind === 'unpartitionTable',
    rewrite: ch.kind === 'rewriteTable',
    casts: ch.kind === 'rewriteTable' ? rewrittenTypes(ch.from, ch.to) : {},
    livePartitions: partitionRefs(live),
    live,
    want: ch.to,
    key,
    partitionColumns: partitionColumns(ch.to),
    columns,
    guard: copyGuard(ch.to, match, columns),
    overridingSystemValue: live.columns.some((c) => c.identity === 'always' && c.generated === undefined),
    uncovered: uncoveredRanges(ch.to),
    views: dependentViews(ctx, ref).filter((v) => v.kind === 'view'),
    materializedViews: liveMaterializedViews(ctx, ref).flatMap(([live, want]) => (live ? [[live, want] as const] : [])),
    repointed: ctx
      .liveForeignKeysTo(ref)
      .filter(([owner, fk]) => ctx.desiredRelation(owner)?.foreignKeys.some((f) => f.name === fk.name)),
    ownedSequences: ctx.live.schemas.flatMap((s) =>
      s.sequences
        .filter((q) => q.ownedBy?.schema === ref.schema && q.ownedBy.table === ref.name)
        .map((q) => ({ ...q, schema: s.name })),
    ),
    identityColumns: live.columns.filter((c) => c.identity !== undefined).map((c) => c.name),
    ...carriedGrants(live, ch.to),
    routines: bodyRoutines(ctx, ref),
    ...withOwner(ctx, ref),
  };
}

function withOwner(ctx: PlanContext, ref: RelationRef): Pick<Swap, 'owner'> {
  const on = { kind: 'table', ...ref } as const;
  const owner = ownerOf(ctx.desired, on) ?? liveOwnerOf(ctx.live, on);
  return owner === undefined ? {} : { owner };
}
