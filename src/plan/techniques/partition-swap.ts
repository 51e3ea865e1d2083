/**
 * Partition swap: a plain live table becomes a partitioned table while the application keeps
 * reading and writing it (DESIGN.md §5).
 *
 * - expand: a shadow table `<t>_zdm_shadow`, `PARTITION BY …` with every desired partition, key,
 *   check, index and foreign key, built while it is empty (plain CREATE INDEX: nothing to wait for).
 *   Its keys and indexes carry temporary names: index names are unique per schema and the live table
 *   still holds the desired ones. Then an AFTER INSERT/UPDATE/DELETE row trigger (and an AFTER
 *   TRUNCATE one) on the live table that mirrors every write into the shadow in the writer's own
 *   transaction. An UPDATE is mirrored as delete + insert, so one that moves the row to another
 *   partition or changes its key is mirrored like any other.
 * - backfill: a copy step (src/apply/copy.ts) walks the live table in key order, one transaction per
 *   batch: `INSERT … SELECT … FOR SHARE … ON CONFLICT DO NOTHING`. FOR SHARE makes a concurrent
 *   DELETE or UPDATE of a row being copied wait for the batch to commit (its trigger then mirrors it
 *   over the copy), and a row deleted before the batch read it is not read at all: nothing deleted is
 *   resurrected. ON CONFLICT DO NOTHING keeps a newer version the trigger already wrote. Then a
 *   verify step compares row count and an order-independent checksum of both tables in one snapshot.
 * - contract: the verify step once more (no lock: the trigger keeps both tables equal in every
 *   snapshot), then one transaction under lock_timeout (retried): lock both tables, check that the
 *   sync triggers are still there and enabled (counting rows here would hold ACCESS EXCLUSIVE for
 *   ~0.5 s per million rows), recreate views over the table, drop the trigger, rename the live table to `<t>_zdm_retired` and the shadow to `<t>`
 *   (keys and indexes to their desired names), move sequence ownership and identity state past the
 *   old maximum, re-point the foreign keys of other tables `NOT VALID` (validated in the next step,
 *   under SHARE UPDATE EXCLUSIVE). Dropping the retired table is its own step (`data-loss`).
 */
import type { PartitionTable, RelationRef } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { stableStringify } from '../../model/canonical.js';
import { qualified } from '../../model/names.js';
import type {
  Column,
  DatabaseModel,
  Dependent,
  ExclusionConstraint,
  ForeignKey,
  Index,
  Partition,
  PartitionBound,
  PrimaryKey,
  RelationParts,
  Table,
  UniqueConstraint,
} from '../../model/types.js';
import { displayType } from '../../model/types-text.js';
import { identList, qualifiedName, quoteIdent, quoteLiteral } from '../../render/quote.js';
import { at, lock, type Placement, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapRelation, mapSchema, noEdit, omit } from '../model-edit.js';
import { freshName } from '../names.js';
import {
  checkSql,
  createIndexSql,
  createTableSql,
  exclusionSql,
  foreignKeySql,
  partitionBoundSql,
  partitionBySql,
  primaryKeySql,
  rel,
  uniqueSql,
} from '../sql.js';
import type { Hazard, LockInfo } from '../types.js';

const name = (r: RelationRef) => qualified(r.schema, r.name);
const strip = (c: Column): Column => omit(omit(omit(omit(c, 'comment'), 'renamedFrom'), 'using'), 'reverse');
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));

/** Plain-column elements of a partition key (expressions are parenthesized and left out). */
export function partitionColumns(t: Table): string[] {
  return (t.partitionBy?.columns ?? []).filter((c) => !c.startsWith('('));
}

/** The live table's row identity: its primary key, else a unique key (constraint or index) over NOT NULL columns. */
export function rowKey(t: Table): readonly string[] | undefined {
  if (t.primaryKey) return t.primaryKey.columns;
  const notNull = (cols: readonly string[]) =>
    cols.every((c) => t.columns.find((x) => x.name === c)?.nullable === false);
  const u = t.uniqueConstraints.find((x) => notNull(x.columns));
  if (u) return u.columns;
  const ix = t.indexes.find(
    (i) => i.unique && i.where === undefined && i.keys.every((k) => k.column !== undefined) && notNull(keyCols(i)),
  );
  return ix ? keyCols(ix) : undefined;
}

const keyCols = (i: Index): string[] => i.keys.map((k) => k.column ?? '');

/** Column sets the desired table is unique on: what a foreign key may reference, what ON CONFLICT catches. */
function uniqueSets(t: Table): { what: string; columns: readonly string[] }[] {
  const out: { what: string; columns: readonly string[] }[] = [];
  if (t.primaryKey) out.push({ what: `primary key ${t.primaryKey.name}`, columns: t.primaryKey.columns });
  for (const u of t.uniqueConstraints) out.push({ what: `unique constraint ${u.name}`, columns: u.columns });
  for (const i of t.indexes) {
    if (i.unique && i.where === undefined && i.keys.every((k) => k.column !== undefined)) {
      out.push({ what: `unique index ${i.name}`, columns: keyCols(i) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plan-time checks

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

interface BoundProblems {
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

function hasComments(r: RelationParts): boolean {
  return r.partitions.some((p) => p.comment !== undefined || hasComments(p));
}

/** Storage parameters, row level security or a replica identity on the relation or one of its partitions. */
function hasTableProperties(r: RelationParts): boolean {
  const own =
    r.with !== undefined ||
    r.rowLevelSecurity !== undefined ||
    r.forceRowLevelSecurity !== undefined ||
    r.replicaIdentity !== undefined;
  return own || r.partitions.some(hasTableProperties);
}

function hasConstraintComments(r: RelationParts): boolean {
  const keys = [...(r.primaryKey ? [r.primaryKey] : []), ...r.uniqueConstraints, ...r.checks, ...r.foreignKeys];
  return (
    [...keys, ...r.exclusionConstraints].some((c) => c.comment !== undefined) ||
    r.partitions.some(hasConstraintComments)
  );
}

/** Every reason the swap cannot be planned; empty when it can. */
function check(ctx: PlanContext, live: Table, want: Table): boolean {
  const ref = { schema: live.schema, name: live.name };
  const object = `table ${name(ref)}`;
  const base = ['schemas', want.schema, 'tables', want.name];
  const before = ctx.issues.length;
  const issue = (message: string, ...path: string[]) => ctx.issue(object, message, docPath([...base, ...path]));
  const partCols = partitionColumns(want);

  // Keys of a partitioned table must contain the partition key (a PostgreSQL rule).
  const keys: { what: string; columns: readonly string[]; path: string[] }[] = [];
  if (want.primaryKey)
    keys.push({ what: `primary key ${want.primaryKey.name}`, columns: want.primaryKey.columns, path: ['primaryKey'] });
  for (const u of want.uniqueConstraints)
    keys.push({ what: `unique constraint ${u.name}`, columns: u.columns, path: ['uniqueConstraints', u.name] });
  for (const i of want.indexes)
    if (i.unique) keys.push({ what: `unique index ${i.name}`, columns: keyCols(i), path: ['indexes', i.name] });
  for (const k of keys) {
    const missing = partCols.filter((c) => !k.columns.includes(c));
    if (missing.length > 0) {
      issue(
        `${k.what} (${k.columns.join(', ')}) must contain the partition key of a partitioned table: add ${missing.join(', ')} to its columns`,
        ...k.path,
      );
    }
  }

  const liveCols = new Map(live.columns.map((c) => [c.name, c]));
  for (const c of want.columns) {
    const l = liveCols.get(c.name);
    if (!l)
      issue(`column ${c.name} is new: add it in a plan of its own before partitioning the table`, 'columns', c.name);
    else if (stableStringify(omit(strip(l), 'kind')) !== stableStringify(omit(strip(c), 'kind'))) {
      issue(
        `column ${c.name} changes too: change it in a plan of its own before partitioning the table`,
        'columns',
        c.name,
      );
    }
  }
  for (const c of live.columns) {
    if (!want.columns.some((x) => x.name === c.name)) {
      issue(
        `column ${c.name} is dropped too: drop it in a plan of its own before or after partitioning the table`,
        'columns',
      );
    }
  }
  if (live.unlogged !== want.unlogged) issue('UNLOGGED changes too: change it in a plan of its own', 'unlogged');

  const key = rowKey(live);
  if (!key) {
    issue(
      'the live table has no primary key or unique key over NOT NULL columns: zdm needs one to keep the partitioned copy in step and to copy in batches; add one in a plan of its own first',
    );
  } else if (!uniqueSets(want).some((u) => key.every((c) => u.columns.includes(c)))) {
    issue(
      `the partitioned table needs a primary or unique key that contains the live key (${key.join(', ')}), e.g. primaryKey: { columns: [${[...new Set([...key, ...partCols])].join(', ')}] }`,
    );
  }

  // Foreign keys of other tables to this one are re-pointed at the partitioned table by the swap:
  // only possible when the desired table is unique on exactly the referenced columns.
  for (const [owner, fk] of ctx.liveForeignKeysTo(ref)) {
    const self = owner.schema === ref.schema && owner.name === ref.name;
    if (self) {
      issue(
        `foreign key ${fk.name} references the table itself: partitioning such a table is not supported yet`,
        'foreignKeys',
        fk.name,
      );
      continue;
    }
    const ownerDesired = ctx.desiredRelation(owner);
    const desiredFk = ownerDesired?.foreignKeys.find((f) => f.name === fk.name);
    if (!ownerDesired || !desiredFk) continue; // dropped in contract before the swap
    const fkPath = docPath(['schemas', owner.schema, 'tables', owner.name, 'foreignKeys', fk.name]);
    const fkObject = `foreign key ${fk.name} on ${name(owner)}`;
    const cols = fk.references.columns;
    if (stableStringify(desiredFk) !== stableStringify(fk)) {
      ctx.issue(
        fkObject,
        `references ${name(ref)}, which is being partitioned: change the foreign key in a plan of its own`,
        fkPath,
      );
    } else if (!uniqueSets(want).some((u) => sameSet(u.columns, cols))) {
      const need = [...cols, ...partCols.filter((c) => !cols.includes(c))];
      ctx.issue(
        fkObject,
        `references ${name(ref)} (${cols.join(', ')}), which cannot stay unique once the table is partitioned by ` +
          `${want.partitionBy?.columns.join(', ')} (a unique key of a partitioned table must contain the partition key): ` +
          `the desired state must make it reference columns [${need.join(', ')}] (with matching columns on ${name(owner)}) ` +
          'and keep a unique key on exactly those columns, or drop the foreign key',
        fkPath,
      );
    } else if (ctx.isPartitioned(owner) && ctx.input.serverMajor < 18) {
      ctx.issue(
        fkObject,
        `would be re-pointed NOT VALID at the partitioned ${name(ref)}, which PostgreSQL ${ctx.input.serverMajor} refuses on a partitioned table (it needs 18)`,
        fkPath,
      );
    }
  }
  for (const s of ctx.desired.schemas) {
    for (const t of s.tables) {
      for (const f of t.foreignKeys) {
        if (f.references.schema !== ref.schema || f.references.table !== ref.name) continue;
        const liveOwner = ctx.liveRelation({ schema: s.name, name: t.name });
        if (liveOwner?.foreignKeys.some((x) => x.name === f.name)) continue;
        if (s.name === ref.schema && t.name === ref.name) continue;
        ctx.issue(
          `foreign key ${f.name} on ${qualified(s.name, t.name)}`,
          `is new and references ${name(ref)}, which is being partitioned: add it in a later plan`,
          docPath(['schemas', s.name, 'tables', t.name, 'foreignKeys', f.name]),
        );
      }
    }
  }
  for (const f of want.foreignKeys) {
    if (!f.valid && ctx.input.serverMajor < 18) {
      issue(`foreign key ${f.name} NOT VALID on a partitioned table needs PostgreSQL 18`, 'foreignKeys', f.name);
    }
  }

  const { overlaps, gaps } = boundProblems(want.partitions, want.partitionBy?.columns.length ?? 0);
  for (const o of overlaps) issue(`partition bounds overlap: ${o}`, 'partitions');
  const hasDefault = want.partitions.some((p) => p.bound.kind === 'default');
  if (!hasDefault && gaps.length > 0) {
    ctx.warn(
      `${object}: no partition and no default partition for rows ${gaps.join('; ')}: once the sync trigger is installed, ` +
        'the application cannot write such rows (add a default partition to accept them)',
    );
  }
  const outside = ctx.input.rowsOutsidePartitions?.[name(ref)] ?? 0;
  if (outside > 0) {
    issue(
      `${outside} live row${outside === 1 ? '' : 's'} would fall into no partition: add partitions that cover them or a default partition`,
      'partitions',
    );
  }
  if (want.partitions.some((p) => p.foreignKeys.length > 0 || p.partitions.some((q) => q.foreignKeys.length > 0))) {
    issue('foreign keys declared on single partitions are not supported by the partition swap yet', 'partitions');
  }
  if (hasComments(want))
    issue('comments on partitions are not supported by the partition swap yet: set them in a later plan', 'partitions');
  if (hasTableProperties(live) || hasTableProperties(want)) {
    // The shadow would take them before the swap (row level security would then filter the sync
    // trigger's copies through policies it does not have), or lose the live table's at the swap.
    issue(
      'storage parameters, row level security and replica identity are not carried by the partition swap yet: ' +
        'reset them on the live table in a plan of its own first, and set them again in a later plan',
    );
  }
  if (hasConstraintComments(want)) {
    issue('comments on constraints are not supported by the partition swap yet: set them in a later plan');
  }

  const matviews = dependentViews(ctx, ref).filter((v) => v.kind === 'materializedView');
  if (matviews.length > 0) {
    issue(
      `materialized view ${matviews.map((v) => qualified(v.schema, v.name)).join(', ')} (not managed by zdm) uses the table: ` +
        'it cannot be re-pointed at the partitioned table; drop it first and recreate it after contract',
    );
  }
  const triggers = (ctx.live.dependents?.triggers ?? []).filter((t) => t.schema === ref.schema && t.table === ref.name);
  if (triggers.length > 0) {
    issue(
      `trigger${triggers.length === 1 ? '' : 's'} ${triggers.map((t) => t.name).join(', ')} (not managed by zdm) on the table would not move to the partitioned table: drop them first and recreate them after contract`,
    );
  }
  return ctx.issues.length === before;
}

/** Views and materialized views of the live database (not managed by zdm) over the table. */
function dependentViews(ctx: PlanContext, ref: RelationRef): Dependent[] {
  return (ctx.live.dependents?.views ?? []).filter((v) =>
    v.dependsOn.some((d) => d.schema === ref.schema && d.table === ref.name),
  );
}

// ---------------------------------------------------------------------------------------------
// Names

interface Names {
  readonly shadow: RelationRef;
  readonly retired: RelationRef;
  readonly fn: string;
  readonly trigger: string;
  readonly truncateTrigger: string;
  /** Desired name → temporary name on the shadow (keys, indexes, exclusion constraints). */
  readonly temp: ReadonlyMap<string, string>;
  /** Live name → name on the retired table, for the live keys and indexes whose names the shadow takes. */
  readonly old: ReadonlyMap<string, string>;
}

function relationNames(t: Table): string[] {
  return [
    ...(t.primaryKey ? [t.primaryKey.name] : []),
    ...t.uniqueConstraints.map((u) => u.name),
    ...t.exclusionConstraints.map((x) => x.name),
    ...t.indexes.map((i) => i.name),
  ];
}

function makeNames(ctx: PlanContext, live: Table, want: Table): Names {
  const schema = live.schema;
  const temp = new Map<string, string>();
  for (const n of relationNames(want)) temp.set(n, ctx.freshName(schema, [n], 'zdm_new'));
  const wanted = new Set([...relationNames(want), ...collectPartitionNames(want)]);
  const old = new Map<string, string>();
  for (const n of relationNames(live)) if (wanted.has(n)) old.set(n, ctx.freshName(schema, [n], 'zdm_old'));
  const functions = new Set(
    (ctx.live.dependents?.functions ?? []).filter((f) => f.schema === schema).map((f) => f.name.replace(/\(.*$/, '')),
  );
  const fn = freshName([live.name], 'zdm_sync', functions);
  return {
    shadow: { schema, name: ctx.freshName(schema, [live.name], 'zdm_shadow') },
    retired: { schema, name: ctx.freshName(schema, [live.name], 'zdm_retired') },
    fn,
    trigger: freshName([live.name], 'zdm_sync', new Set()),
    truncateTrigger: freshName([live.name], 'zdm_sync_truncate', new Set()),
    temp,
    old,
  };
}

function collectPartitionNames(r: RelationParts): string[] {
  return r.partitions.flatMap((p) => [p.name, ...collectPartitionNames(p)]);
}

const renamed = <T extends { readonly name: string }>(x: T, map: ReadonlyMap<string, string>): T => {
  const n = map.get(x.name);
  return n === undefined ? x : { ...x, name: n };
};

/** A table with its keys, exclusion constraints and indexes renamed by `map`. */
function withRenamedParts(t: Table, map: ReadonlyMap<string, string>): Table {
  const pk: PrimaryKey | undefined = t.primaryKey ? renamed(t.primaryKey, map) : undefined;
  const out: Table = {
    ...t,
    uniqueConstraints: t.uniqueConstraints.map((u: UniqueConstraint) => renamed(u, map)),
    exclusionConstraints: t.exclusionConstraints.map((x: ExclusionConstraint) => renamed(x, map)),
    indexes: t.indexes.map((i: Index) => renamed(i, map)),
  };
  return pk ? { ...out, primaryKey: pk } : omit(out, 'primaryKey');
}

// ---------------------------------------------------------------------------------------------
// SQL

/** A dollar-quote tag that occurs nowhere in `body`. */
function dollarTag(body: string): string {
  let tag = '$zdm$';
  for (let n = 1; body.includes(tag); n++) tag = `$zdm${n}$`;
  return tag;
}

function partitionsSql(ctx: PlanContext, parent: RelationRef, r: RelationParts): string[] {
  const sql: string[] = [];
  for (const p of r.partitions) {
    const ref = { schema: p.schema, name: p.name };
    const by = p.partitionBy ? ` ${partitionBySql(p.partitionBy)}` : '';
    sql.push(`CREATE TABLE ${rel(ref)} PARTITION OF ${rel(parent)} ${partitionBoundSql(p.bound)}${by}`);
    if (p.primaryKey) sql.push(`ALTER TABLE ${rel(ref)} ADD ${primaryKeySql(p.primaryKey)}`);
    for (const u of p.uniqueConstraints) sql.push(`ALTER TABLE ${rel(ref)} ADD ${uniqueSql(u)}`);
    for (const c of p.checks) sql.push(`ALTER TABLE ${rel(ref)} ADD ${checkSql(c, !c.valid)}`);
    for (const x of p.exclusionConstraints) sql.push(`ALTER TABLE ${rel(ref)} ADD ${exclusionSql(x, ctx.schemas)}`);
    for (const i of p.indexes) sql.push(createIndexSql(ref, i, { schemas: ctx.schemas }));
    sql.push(...partitionsSql(ctx, ref, p));
  }
  return sql;
}

function commentsSql(ref: RelationRef, t: Table): string[] {
  const sql: string[] = [];
  if (t.comment !== undefined) sql.push(`COMMENT ON TABLE ${rel(ref)} IS ${quoteLiteral(t.comment)}`);
  for (const c of t.columns) {
    if (c.comment !== undefined) {
      sql.push(`COMMENT ON COLUMN ${rel(ref)}.${quoteIdent(c.name)} IS ${quoteLiteral(c.comment)}`);
    }
  }
  for (const i of t.indexes) {
    if (i.comment !== undefined) {
      sql.push(`COMMENT ON INDEX ${qualifiedName(ref.schema, i.name)} IS ${quoteLiteral(i.comment)}`);
    }
  }
  return sql;
}

/** The trigger function: mirrors each write of the live table into the shadow. */
function syncFunctionSql(
  live: Table,
  shadow: RelationRef,
  fn: string,
  key: readonly string[],
  partCols: readonly string[],
): string {
  const s = rel(shadow);
  const copied = live.columns.filter((c) => c.generated === undefined);
  const overriding = copied.some((c) => c.identity === 'always') ? ' OVERRIDING SYSTEM VALUE' : '';
  const match = [...key, ...partCols.filter((c) => !key.includes(c))].map((c) => {
    const col = live.columns.find((x) => x.name === c);
    const op = col?.nullable === false ? '=' : 'IS NOT DISTINCT FROM';
    return `zdm_s.${quoteIdent(c)} ${op} OLD.${quoteIdent(c)}`;
  });
  const body = [
    'BEGIN',
    "  IF TG_OP = 'TRUNCATE' THEN",
    `    TRUNCATE ${s};`,
    '    RETURN NULL;',
    '  END IF;',
    "  IF TG_OP <> 'INSERT' THEN",
    `    DELETE FROM ${s} AS zdm_s WHERE ${match.join(' AND ')};`,
    '  END IF;',
    "  IF TG_OP <> 'DELETE' THEN",
    `    INSERT INTO ${s} (${identList(copied.map((c) => c.name))})${overriding}`,
    `      VALUES (${copied.map((c) => `NEW.${quoteIdent(c.name)}`).join(', ')});`,
    '  END IF;',
    '  RETURN NULL;',
    'END',
  ].join('\n');
  const tag = dollarTag(body);
  return (
    `CREATE FUNCTION ${qualifiedName(live.schema, fn)}() RETURNS trigger LANGUAGE plpgsql ` +
    `SET search_path = pg_catalog, pg_temp AS ${tag}\n${body}\n${tag}`
  );
}

/** One batch of the copy, as the reviewer reads it (src/apply/copy.ts runs it with the key range bound). */
export function copyBatchSql(
  from: RelationRef,
  to: RelationRef,
  columns: readonly string[],
  key: readonly string[],
  overriding: boolean,
): string {
  const k = identList(key);
  const range = key.length === 1 ? k : `(${k})`;
  const lo = key.length === 1 ? '$1' : `(${key.map((_, i) => `$${i + 1}`).join(', ')})`;
  const hi = key.length === 1 ? '$2' : `(${key.map((_, i) => `$${key.length + i + 1}`).join(', ')})`;
  return (
    `INSERT INTO ${rel(to)} (${identList(columns)})${overriding ? ' OVERRIDING SYSTEM VALUE' : ''} ` +
    `SELECT ${identList(columns)} FROM ${rel(from)} WHERE ${range} > ${lo} AND ${range} <= ${hi} ` +
    `ORDER BY ${k} FOR SHARE ON CONFLICT DO NOTHING`
  );
}

/** count(*) and an order-independent checksum (sum of 64-bit row hashes) of `columns` of a table. */
export function checksumSql(t: RelationRef, columns: readonly string[]): string {
  const row = `ROW(${identList(columns)})::text`;
  return (
    `SELECT pg_catalog.count(*) AS rows, ` +
    `COALESCE(pg_catalog.sum(('x' || pg_catalog.substr(pg_catalog.md5(${row}), 1, 16))::bit(64)::int8::numeric), 0) AS checksum ` +
    `FROM ${rel(t)}`
  );
}

// ---------------------------------------------------------------------------------------------
// The technique

export function planPartitionTable(ctx: PlanContext, ch: PartitionTable): void {
  const live = ch.from;
  const want = ch.to;
  if (!check(ctx, live, want)) return;
  const ref = { schema: live.schema, name: live.name };
  const key = rowKey(live)!;
  const partCols = partitionColumns(want);
  const n = makeNames(ctx, live, want);

  // --- expand: the shadow, empty, with everything the desired table declares.
  const shadowTable: Table = {
    ...withRenamedParts(want, n.temp),
    name: n.shadow.name,
    columns: want.columns.map((c) => {
      const base = omit(omit(omit(c, 'renamedFrom'), 'using'), 'reverse');
      return base;
    }),
  };
  const shadowModel: Table = omit(shadowTable, 'renamedFrom');
  const created: Table = {
    ...shadowModel,
    // The desired table's inline NOT VALID checks are added NOT VALID below.
    checks: shadowModel.checks,
  };
  const createSql = [
    createTableSql(
      {
        ...created,
        checks: created.checks.filter((c) => c.valid),
        // Added below: CREATE TABLE silently leaves out a unique constraint on the primary key's columns.
        uniqueConstraints: [],
        columns: created.columns.map((c) => ({ ...c, type: displayType(c.type) })),
      },
      ctx.schemas,
    ),
    ...created.uniqueConstraints.map((u) => `ALTER TABLE ${rel(n.shadow)} ADD ${uniqueSql(u)}`),
    ...created.checks.filter((c) => !c.valid).map((c) => `ALTER TABLE ${rel(n.shadow)} ADD ${checkSql(c, true)}`),
    ...created.indexes.map((i) => createIndexSql(n.shadow, i, { schemas: ctx.schemas })),
    ...partitionsSql(ctx, n.shadow, created),
    ...created.foreignKeys.map((f) => `ALTER TABLE ${rel(n.shadow)} ADD ${foreignKeySql(f, !f.valid)}`),
    ...commentsSql(n.shadow, created),
  ];
  const fkLocks: LockInfo[] = want.foreignKeys.map((f) =>
    lock({ schema: f.references.schema, name: f.references.table }, 'SHARE ROW EXCLUSIVE'),
  );
  const parts = collectPartitionNames(want).length;
  ctx.add(
    at.expand('tables'),
    sqlStep(
      `create ${name(n.shadow)}, the partitioned copy of ${name(ref)} (${parts} partition${parts === 1 ? '' : 's'}, keys and indexes built while it is empty)`,
      createSql,
      { locks: [lock(n.shadow, 'ACCESS EXCLUSIVE'), ...fkLocks] },
    ),
    (m) => mapSchema(m, ref.schema, (s) => ({ ...s, tables: [...s.tables, created] })),
    [tableTouch(n.shadow)],
  );

  const hazards: Hazard[] = [];
  const { gaps } = boundProblems(want.partitions, want.partitionBy?.columns.length ?? 0);
  if (gaps.length > 0 && !want.partitions.some((p) => p.bound.kind === 'default')) hazards.push('app-compat');
  const t = rel(ref);
  ctx.add(
    at.expand('tables'),
    sqlStep(
      `keep ${name(n.shadow)} in step with ${name(ref)}: AFTER INSERT/UPDATE/DELETE/TRUNCATE triggers mirror every write`,
      [
        syncFunctionSql(live, n.shadow, n.fn, key, partCols),
        `CREATE TRIGGER ${quoteIdent(n.trigger)} AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${qualifiedName(ref.schema, n.fn)}()`,
        `CREATE TRIGGER ${quoteIdent(n.truncateTrigger)} AFTER TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ${qualifiedName(ref.schema, n.fn)}()`,
      ],
      { locks: [lock(ref, 'SHARE ROW EXCLUSIVE')], hazards },
    ),
    noEdit,
    [tableTouch(ref), tableTouch(n.shadow)],
  );

  // --- backfill: copy in key order, then verify.
  const columns = live.columns.filter((c) => c.generated === undefined).map((c) => c.name);
  const overriding = live.columns.some((c) => c.identity === 'always' && c.generated === undefined);
  ctx.add(
    at.backfill('copyTables'),
    {
      kind: 'copy',
      summary: `copy the rows of ${name(ref)} into ${name(n.shadow)} in batches of ${ctx.input.batchSize} by (${key.join(', ')})`,
      transaction: false,
      from: ref,
      to: n.shadow,
      columns,
      key,
      overridingSystemValue: overriding,
      batchSize: ctx.input.batchSize,
      sql: [copyBatchSql(ref, n.shadow, columns, key, overriding)],
      locks: [lock(ref, 'ROW SHARE', 'scan'), lock(n.shadow, 'ROW EXCLUSIVE', 'scan')],
      hazards: ['long-running'],
    },
    noEdit,
    [tableTouch(ref), tableTouch(n.shadow)],
  );
  // The same comparison of the live table and its copy: after the copy, and again before the swap.
  const verify = (placement: Placement, summary: string): void =>
    ctx.add(
      placement,
      {
        kind: 'verify',
        summary,
        transaction: false,
        from: ref,
        to: n.shadow,
        columns,
        sql: [checksumSql(ref, columns), checksumSql(n.shadow, columns)],
        locks: [lock(ref, 'ACCESS SHARE', 'scan'), lock(n.shadow, 'ACCESS SHARE', 'scan')],
        hazards: ['long-running'],
      },
      noEdit,
      [tableTouch(ref), tableTouch(n.shadow)],
    );
  verify(
    at.backfill('copyTables'),
    `verify that ${name(n.shadow)} has the rows of ${name(ref)}: row count and checksum, in one snapshot`,
  );

  // --- contract: a last full comparison (no lock), then the swap in one short transaction.
  verify(
    at.contract('swapTables'),
    `verify again, right before the swap, that ${name(n.shadow)} has the rows of ${name(ref)}`,
  );
  const r = rel(n.retired);
  const swapSql: string[] = [`LOCK TABLE ${t}, ${rel(n.shadow)} IN ACCESS EXCLUSIVE MODE`];
  // The full comparison ran just before (contract's verify step, no lock); under the lock only what
  // could have broken the sync since is checked: both triggers still there and enabled for ordinary
  // sessions. Counting both tables here would hold ACCESS EXCLUSIVE for ~0.5 s per million rows.
  const finalCheck = [
    'BEGIN',
    '  IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger',
    `       WHERE tgrelid = ${quoteLiteral(t)}::pg_catalog.regclass`,
    `         AND tgname IN (${quoteLiteral(n.trigger)}, ${quoteLiteral(n.truncateTrigger)}) AND tgenabled IN ('O', 'A')) <> 2 THEN`,
    `    RAISE EXCEPTION 'zdm: the sync triggers of % are missing or disabled: % may have missed writes; the swap is not done (apply the backfill phase''s copy again)',`,
    `      ${quoteLiteral(name(ref))}, ${quoteLiteral(name(n.shadow))};`,
    '  END IF;',
    'END',
  ].join('\n');
  const tag = dollarTag(finalCheck);
  swapSql.push(`DO ${tag}\n${finalCheck}\n${tag}`);
  // Views over the table follow it by OID to the retired name: their definitions are read before
  // the renames, with every name schema-qualified (empty search_path), and replaced after them, so
  // that they read the partitioned table (CREATE OR REPLACE keeps their OID, grants and dependents).
  const views = dependentViews(ctx, ref).filter((v) => v.kind === 'view');
  if (views.length > 0) {
    swapSql.push(`SET LOCAL search_path = ''`);
    swapSql.push(
      'CREATE TEMPORARY TABLE zdm_swap_views ON COMMIT DROP AS ' +
        'SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name, pg_catalog.pg_get_viewdef(c.oid) AS def, c.reloptions ' +
        `FROM pg_catalog.pg_class c WHERE c.oid IN (${views
          .map((v) => `${quoteLiteral(qualifiedName(v.schema, v.name))}::pg_catalog.regclass`)
          .join(', ')})`,
    );
  }
  swapSql.push(`DROP TRIGGER ${quoteIdent(n.trigger)} ON ${t}`);
  swapSql.push(`DROP TRIGGER ${quoteIdent(n.truncateTrigger)} ON ${t}`);
  swapSql.push(`DROP FUNCTION ${qualifiedName(ref.schema, n.fn)}()`);
  swapSql.push(`ALTER TABLE ${t} RENAME TO ${quoteIdent(n.retired.name)}`);
  const constraintNames = new Set([
    ...(live.primaryKey ? [live.primaryKey.name] : []),
    ...live.uniqueConstraints.map((u) => u.name),
    ...live.exclusionConstraints.map((x) => x.name),
  ]);
  for (const [from, to] of n.old) {
    swapSql.push(
      constraintNames.has(from)
        ? `ALTER TABLE ${r} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}`
        : `ALTER INDEX ${qualifiedName(ref.schema, from)} RENAME TO ${quoteIdent(to)}`,
    );
  }
  swapSql.push(`ALTER TABLE ${rel(n.shadow)} RENAME TO ${quoteIdent(ref.name)}`);
  const wantConstraints = new Set([
    ...(want.primaryKey ? [want.primaryKey.name] : []),
    ...want.uniqueConstraints.map((u) => u.name),
    ...want.exclusionConstraints.map((x) => x.name),
  ]);
  for (const [to, from] of n.temp) {
    swapSql.push(
      wantConstraints.has(to)
        ? `ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}`
        : `ALTER INDEX ${qualifiedName(ref.schema, from)} RENAME TO ${quoteIdent(to)}`,
    );
  }
  const seqLocks: LockInfo[] = [];
  for (const s of ctx.live.schemas) {
    for (const q of s.sequences) {
      const o = q.ownedBy;
      if (o && o.schema === ref.schema && o.table === ref.name) {
        swapSql.push(`ALTER SEQUENCE ${qualifiedName(s.name, q.name)} OWNED BY ${t}.${quoteIdent(o.column)}`);
        seqLocks.push(lock({ schema: s.name, name: q.name }, 'ACCESS EXCLUSIVE'));
      }
    }
  }
  for (const c of live.columns) {
    if (c.identity === undefined) continue;
    const seqOf = (table: RelationRef) =>
      `pg_catalog.pg_get_serial_sequence(${quoteLiteral(rel(table))}, ${quoteLiteral(c.name)})`;
    swapSql.push(
      `SELECT pg_catalog.setval(${seqOf(ref)}, m) FROM (SELECT GREATEST(` +
        `pg_catalog.pg_sequence_last_value(${seqOf(n.retired)}::pg_catalog.regclass), ` +
        `(SELECT pg_catalog.max(${quoteIdent(c.name)}) FROM ${r})) AS m) AS zdm_last WHERE m IS NOT NULL`,
    );
  }
  const repointed: [RelationRef, ForeignKey][] = [];
  for (const [owner, fk] of ctx.liveForeignKeysTo(ref)) {
    const desiredFk = ctx.desiredRelation(owner)?.foreignKeys.find((f) => f.name === fk.name);
    if (!desiredFk) continue;
    repointed.push([owner, fk]);
    swapSql.push(`ALTER TABLE ${rel(owner)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
    swapSql.push(`ALTER TABLE ${rel(owner)} ADD ${foreignKeySql(fk, true)}`);
  }
  if (views.length > 0) {
    const body = [
      'DECLARE v record;',
      'BEGIN',
      '  FOR v IN SELECT name, def, reloptions FROM pg_temp.zdm_swap_views LOOP',
      "    EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s%s AS %s', v.name,",
      "      CASE WHEN v.reloptions IS NULL THEN '' ELSE ' WITH (' || pg_catalog.array_to_string(v.reloptions, ', ') || ')' END,",
      "      pg_catalog.rtrim(v.def, '; '));",
      '  END LOOP;',
      'END',
    ].join('\n');
    const vt = dollarTag(body);
    swapSql.push(`DO ${vt}\n${body}\n${vt}`);
  }
  const final: Table = omit(
    {
      ...want,
      columns: want.columns.map((c) => omit(omit(omit(c, 'renamedFrom'), 'using'), 'reverse')),
    },
    'renamedFrom',
  );
  const retiredTable: Table = { ...withRenamedParts(live, n.old), name: n.retired.name };
  ctx.add(
    at.contract('swapTables'),
    sqlStep(
      `swap ${name(ref)} for its partitioned copy: ${name(ref)} becomes ${name(n.retired)}, ${name(n.shadow)} becomes ${name(ref)}` +
        (repointed.length > 0
          ? `; ${repointed.length} foreign key${repointed.length === 1 ? '' : 's'} re-pointed NOT VALID`
          : '') +
        (views.length > 0
          ? `; view${views.length === 1 ? '' : 's'} ${views.map((v) => qualified(v.schema, v.name)).join(', ')} recreated over it`
          : ''),
      swapSql,
      {
        locks: [
          lock(ref, 'ACCESS EXCLUSIVE'),
          lock(n.shadow, 'ACCESS EXCLUSIVE'),
          ...seqLocks,
          ...repointed.map(([owner]) => lock(owner, 'ACCESS EXCLUSIVE')),
          ...views.map((v) => lock({ schema: v.schema, name: v.name }, 'ACCESS EXCLUSIVE')),
        ],
      },
    ),
    (m: DatabaseModel) => {
      let out = mapSchema(m, ref.schema, (s) => ({
        ...s,
        tables: [...s.tables.filter((x) => x.name !== ref.name && x.name !== n.shadow.name), final, retiredTable],
      }));
      for (const [owner, fk] of repointed) {
        out = mapRelation(out, owner, (x) => ({
          ...x,
          foreignKeys: x.foreignKeys.map((f) => (f.name === fk.name ? { ...f, valid: false } : f)),
        }));
      }
      return out;
    },
    [tableTouch(ref), tableTouch(n.shadow), tableTouch(n.retired), ...repointed.map(([o]) => tableTouch(o))],
  );
  for (const [owner, fk] of repointed) {
    if (!fk.valid) continue;
    ctx.add(
      at.contract('swapTables'),
      sqlStep(
        `validate foreign key ${fk.name} on ${name(owner)} against the partitioned ${name(ref)}`,
        [`ALTER TABLE ${rel(owner)} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`],
        { locks: [lock(owner, 'SHARE UPDATE EXCLUSIVE', 'scan'), lock(ref, 'ROW SHARE', 'scan')] },
      ),
      (m) =>
        mapRelation(m, owner, (x) => ({
          ...x,
          foreignKeys: x.foreignKeys.map((f) => (f.name === fk.name ? { ...f, valid: true } : f)),
        })),
      [tableTouch(owner)],
    );
  }
  const refLocks = live.foreignKeys.map((f) =>
    lock({ schema: f.references.schema, name: f.references.table }, 'ACCESS EXCLUSIVE'),
  );
  ctx.add(
    at.contract('dropTables'),
    sqlStep(
      `drop ${name(n.retired)}, the table ${name(ref)} was before the partition swap, and its data`,
      [`DROP TABLE ${r}`],
      {
        locks: [lock(n.retired, 'ACCESS EXCLUSIVE'), ...refLocks],
        hazards: ['data-loss'],
      },
    ),
    (m) => mapSchema(m, ref.schema, (s) => ({ ...s, tables: s.tables.filter((x) => x.name !== n.retired.name) })),
    [tableTouch(n.retired)],
  );
}
