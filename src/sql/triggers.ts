/**
 * Triggers and their functions: the two triggers zdm installs while a change is in flight, and the
 * statements that drop them.
 *
 * The two-way sync trigger of a column replacement (rename, or a type change through a shadow
 * column): while the old and the new application version both run, every write to one of the two
 * columns is copied to the other, in the same row, by a BEFORE ROW trigger. Being BEFORE ROW, it
 * changes NEW in place: it never issues an UPDATE of its own, so it cannot recurse.
 *
 * Rules (`conv` turns an old value into a new one: the column's `using`, else a cast; `rev` the
 * other way: its `reverse`, else a cast):
 *   INSERT   new column NULL (the writer left it out: it has no default while the sync runs)
 *              → new := conv(old)
 *            otherwise (the new application version wrote it) → old := rev(new)
 *   UPDATE   only old changed → new := conv(old)
 *            only new changed → old := rev(new), unless new already equals conv(old) (the
 *              backfill's own update: rev(conv(x)) need not give x back, e.g. text → jsonb → text)
 *            both changed → both kept (the writer meant both)
 *            neither changed, new still NULL (a row the backfill has not reached) → new := conv(old):
 *              the NOT VALID `new IS NOT NULL` check applies to every update and would fail it
 *
 * A rename also tells the contract gate's tracking (src/sql/old-writes.ts) of each write of the old
 * application version: an INSERT that leaves the new column NULL while the old one is not NULL,
 * and an UPDATE of only the old column. (An INSERT leaving both NULL is left out: the new version
 * inserting a NULL looks the same.)
 *
 * On a partitioned table the trigger is created on the parent (PostgreSQL 13+ clones it to every
 * partition). An UPDATE that moves a row to another partition fires the BEFORE UPDATE trigger on
 * the source and then the BEFORE INSERT trigger on the destination, with both columns set: the
 * INSERT rule then sets old := rev(new), which is the old value again unless rev(conv(x)) is not x.
 *
 * The mirror trigger of a partition swap: AFTER INSERT/UPDATE/DELETE row triggers (and an AFTER
 * TRUNCATE one) on the live table that repeat every write on its partitioned copy in the writer's
 * own transaction; an UPDATE as delete + insert, so one that moves the row to another partition or
 * changes its key is mirrored like any other.
 */
import { qualified } from '../model/names.js';
import type { Table, Trigger } from '../model/types.js';
import type { CopyGuard } from '../plan/types.js';
import { commentOnSql } from './comments.js';
import { dollarQuoted } from './fragments.js';
import { NOTED_VARIABLE, noteOldWriteSql, type OldWritesTracking } from './old-writes.js';
import { identList, qualifiedName, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';

export interface SyncTriggerSpec {
  readonly schema: string;
  readonly table: string;
  readonly oldColumn: string;
  readonly newColumn: string;
  /** Function and trigger name (the same name for both). */
  readonly name: string;
  /** Old → new, as a PL/pgSQL expression over `NEW` (see rowExpression). */
  readonly conv: string;
  /** New → old: a plain cast, or the column's `reverse` expression (see rowExpression). */
  readonly rev: string;
  /**
   * A rename: the contract gate's tracking, told of every write of the old application version
   * (src/sql/old-writes.ts). Absent for a type change under the same name, which both versions
   * write alike.
   */
  readonly oldWrites?: OldWritesTracking;
}

/**
 * A SQL expression written over the table's columns (a `using` or `reverse` expression) evaluated
 * for the row in NEW: `(SELECT (expr) FROM (SELECT NEW."col" AS "col") AS zdm_row)`. `as` is the
 * name the expression uses for the column when it is not the column's own (a `reverse` expression
 * names the column by its final name; during a type change the value is in the shadow column). A
 * plain cast is written directly: `(NEW."col")::type`.
 */
export function rowExpression(expr: string, column: string, as: string = column): string {
  return `(SELECT (${expr}) FROM (SELECT NEW.${quoteIdent(column)} AS ${quoteIdent(as)}) AS zdm_row)`;
}

/** The column's value in NEW cast to `type`: `(NEW."col")::type`; no type: `NEW."col"`. */
export function castExpression(column: string, type?: string): string {
  return type === undefined ? `NEW.${quoteIdent(column)}` : `(NEW.${quoteIdent(column)})::${type}`;
}

/** The function's body and the statements that create it and the trigger, in one transaction. */
export function createSyncTriggerSql(s: SyncTriggerSpec): string[] {
  const o = `NEW.${quoteIdent(s.oldColumn)}`;
  const n = `NEW.${quoteIdent(s.newColumn)}`;
  const oo = `OLD.${quoteIdent(s.oldColumn)}`;
  const on = `OLD.${quoteIdent(s.newColumn)}`;
  const function_ = { schema: s.schema, name: s.name };
  const fn = rel(function_);
  const table = { schema: s.schema, name: s.table };
  // The old application version does not know the new column: an INSERT that leaves it NULL while
  // the old one has a value (given, or its default), or an UPDATE of only the old column.
  const noteOld = s.oldWrites === undefined ? '' : `\n      ${noteOldWriteSql(s.oldWrites)}`;
  const noteOldInsert =
    s.oldWrites === undefined ? '' : `\n      IF ${o} IS NOT NULL THEN ${noteOldWriteSql(s.oldWrites)} END IF;`;
  const declare = s.oldWrites === undefined ? '' : `DECLARE\n  ${NOTED_VARIABLE} boolean;\n`;
  const body = `
#variable_conflict use_column
-- zdm: keeps ${commentSafe(s.table)}.${commentSafe(s.oldColumn)} (old) and ${commentSafe(s.table)}.${commentSafe(s.newColumn)} (new) equal
-- while both application versions run. Created in expand, dropped in contract (or by zdm rollback).
${declare}BEGIN
  IF TG_OP = 'INSERT' THEN
    IF ${n} IS NULL THEN
      -- The new column has no default while the sync runs: NULL means the writer left it out.
      ${n} := ${s.conv};${noteOldInsert}
    ELSE
      -- Only the new application version knows the new column: what it wrote wins.
      ${o} := ${s.rev};
    END IF;
  ELSIF ${o} IS DISTINCT FROM ${oo} AND ${n} IS NOT DISTINCT FROM ${on} THEN
    -- Only the old column changed (the old application version): follow it.
    ${n} := ${s.conv};${noteOld}
  ELSIF ${n} IS DISTINCT FROM ${on} AND ${o} IS NOT DISTINCT FROM ${oo} THEN
    -- Only the new column changed: copy it back, unless it already matches the old value
    -- (the backfill's own update).
    IF ${n} IS DISTINCT FROM ${s.conv} THEN
      ${o} := ${s.rev};
    END IF;
  ELSIF ${n} IS NULL AND ${o} IS NOT NULL AND ${o} IS NOT DISTINCT FROM ${oo} THEN
    -- Neither changed and the row is not backfilled yet: fill it now.
    ${n} := ${s.conv};
  END IF;
  -- Both changed: the writer set both; both are kept.
  RETURN NEW;
END
`;
  return [
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${dollarQuoted(body)}`,
    commentOnSql(`FUNCTION ${fn}()`, `zdm sync trigger: ${s.table}.${s.oldColumn} <-> ${s.newColumn}`),
    createTriggerSql(s.name, 'BEFORE INSERT OR UPDATE', table, 'ROW', function_),
  ];
}

export function dropSyncTriggerSql(s: Pick<SyncTriggerSpec, 'schema' | 'table' | 'name'>): string[] {
  const fn = { schema: s.schema, name: s.name };
  return [dropTriggerSql(s.name, { schema: s.schema, name: s.table }), dropFunctionSql(fn)];
}

/** Names inside a `--` comment: a line break in a name must not end the comment. */
const commentSafe = (name: string): string => name.replace(/[\r\n]+/g, ' ');

/** The partition swap's mirror of a live table into its partitioned copy (the shadow). */
export interface MirrorSpec {
  /** The live table. */
  readonly table: Table;
  readonly shadow: RelationName;
  /** The trigger function, in the live table's schema. */
  readonly function: string;
  /** The row trigger and the TRUNCATE trigger. */
  readonly trigger: string;
  readonly truncateTrigger: string;
  /** The live table's row key, and the partition key's plain columns: what finds a row's copy. */
  readonly key: readonly string[];
  readonly partitionColumns: readonly string[];
  /**
   * The copy's guard (src/apply/copy.ts): `repair` makes the mirror's insert an upsert on the key
   * and the partition key's columns (`INSERT … ON CONFLICT (…) DO UPDATE`). Absent: `for-share`, a
   * plain INSERT.
   */
  readonly guard?: CopyGuard;
  /**
   * Columns whose type the shadow changes (a table rewrite), each with its type there: the mirror
   * writes `(NEW."col")::type` and finds a row's copy by `(OLD."col")::type`, the copy's conversion.
   */
  readonly casts?: Readonly<Record<string, string>>;
}

/** The columns that find a row's copy in the shadow: the key, then the partition key's plain columns. */
export function mirrorMatchColumns(m: Pick<MirrorSpec, 'key' | 'partitionColumns'>): string[] {
  return [...m.key, ...m.partitionColumns.filter((c) => !m.key.includes(c))];
}

/** The mirror's function and its two triggers. */
export function createMirrorSql(m: MirrorSpec): string[] {
  const fn = { schema: m.table.schema, name: m.function };
  return [
    mirrorFunctionSql(m),
    // SECURITY DEFINER: no one else may attach it to a table of theirs (EXECUTE is checked by CREATE
    // TRIGGER, not when a trigger fires), which would let them write the shadow as its owner.
    `REVOKE EXECUTE ON FUNCTION ${qualifiedName(fn.schema, fn.name)}() FROM PUBLIC`,
    createTriggerSql(m.trigger, 'AFTER INSERT OR UPDATE OR DELETE', m.table, 'ROW', fn),
    createTriggerSql(m.truncateTrigger, 'AFTER TRUNCATE', m.table, 'STATEMENT', fn),
  ];
}

/**
 * The trigger function: mirrors each write of the live table into the shadow. SECURITY DEFINER: it
 * writes the shadow as the role that applies the plan (the shadow's owner), not as the application's
 * role, which has no privilege on the shadow (and should not: nothing else may read or write it);
 * every name is schema-qualified and its search_path pinned.
 */
function mirrorFunctionSql(m: MirrorSpec): string {
  const live = m.table;
  const s = rel(m.shadow);
  const copied = live.columns.filter((c) => c.generated === undefined);
  const overriding = copied.some((c) => c.identity === 'always') ? ' OVERRIDING SYSTEM VALUE' : '';
  const matchColumns = mirrorMatchColumns(m);
  const match = matchColumns.map((c) => {
    const col = live.columns.find((x) => x.name === c);
    const op = col?.nullable === false ? '=' : 'IS NOT DISTINCT FROM';
    const type = m.casts?.[c];
    return `zdm_s.${quoteIdent(c)} ${op} ${type === undefined ? `OLD.${quoteIdent(c)}` : `(OLD.${quoteIdent(c)})::${type}`}`;
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
    `      VALUES (${copied.map((c) => castExpression(c.name, m.casts?.[c.name])).join(', ')})${upsert(m, copied, matchColumns)};`,
    '  END IF;',
    '  RETURN NULL;',
    'END',
  ].join('\n');
  return (
    `CREATE FUNCTION ${qualifiedName(live.schema, m.function)}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER ` +
    `SET search_path = pg_catalog, pg_temp AS ${dollarQuoted(`\n${body}\n`)}`
  );
}

/**
 * ` ON CONFLICT (key) DO UPDATE SET …` of the mirror's insert under the `repair` guard: a row already
 * in the shadow under the same key is a batch's copy (or one the copy left behind, see CopyGuard),
 * never newer than the row being written; a batch's uncommitted copy is waited for, then overwritten.
 */
function upsert(m: MirrorSpec, copied: readonly { name: string }[], matchColumns: readonly string[]): string {
  if (m.guard !== 'repair') return '';
  const rest = copied.filter((c) => !matchColumns.includes(c.name));
  const target = ` ON CONFLICT (${identList(matchColumns)})`;
  return rest.length === 0
    ? `${target} DO NOTHING`
    : `${target} DO UPDATE SET ${rest.map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`).join(', ')}`;
}

/**
 * A DO block that fails unless both mirror triggers are there and enabled for ordinary sessions:
 * what could have broken the mirror since the last full comparison, checked without counting rows.
 */
export function mirrorIntactSql(m: MirrorSpec): string {
  const t = rel(m.table);
  const body = [
    'BEGIN',
    '  IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger',
    `       WHERE tgrelid = ${quoteLiteral(t)}::pg_catalog.regclass`,
    `         AND tgname IN (${quoteLiteral(m.trigger)}, ${quoteLiteral(m.truncateTrigger)}) AND tgenabled IN ('O', 'A')) <> 2 THEN`,
    `    RAISE EXCEPTION 'zdm: the sync triggers of % are missing or disabled: % may have missed writes; the swap is not done (apply the backfill phase''s copy again)',`,
    `      ${quoteLiteral(qualified(m.table.schema, m.table.name))}, ${quoteLiteral(qualified(m.shadow.schema, m.shadow.name))};`,
    '  END IF;',
    'END',
  ].join('\n');
  return `DO ${dollarQuoted(`\n${body}\n`)}`;
}

/** Drops the mirror's triggers and function. */
export function dropMirrorSql(m: MirrorSpec, o: { readonly ifExists?: boolean } = {}): string[] {
  return [
    dropTriggerSql(m.trigger, m.table, o),
    dropTriggerSql(m.truncateTrigger, m.table, o),
    dropFunctionSql({ schema: m.table.schema, name: m.function }, o),
  ];
}

/** `CREATE TRIGGER name <when> ON table FOR EACH ROW|STATEMENT EXECUTE FUNCTION fn()` */
export function createTriggerSql(
  name: string,
  when: string,
  table: RelationName,
  each: 'ROW' | 'STATEMENT',
  fn: RelationName,
): string {
  return `CREATE TRIGGER ${quoteIdent(name)} ${when} ON ${rel(table)} FOR EACH ${each} EXECUTE FUNCTION ${rel(fn)}()`;
}

export function dropTriggerSql(name: string, table: RelationName, o: { readonly ifExists?: boolean } = {}): string {
  return `DROP TRIGGER ${o.ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name)} ON ${rel(table)}`;
}

/** `DROP FUNCTION [IF EXISTS] schema.name()`: zdm's functions take no argument. */
export function dropFunctionSql(fn: RelationName, o: { readonly ifExists?: boolean } = {}): string {
  return `DROP FUNCTION ${o.ifExists ? 'IF EXISTS ' : ''}${rel(fn)}()`;
}

// --- Triggers of the desired state (src/model/types.ts Trigger) ---

/** The function a trigger executes: `schema.name` (or a bare pg_catalog name) as SQL. */
function triggerFunctionSql(fn: string): string {
  const dot = fn.indexOf('.');
  return dot < 0 ? `pg_catalog.${quoteIdent(fn)}` : `${quoteIdent(fn.slice(0, dot))}.${quoteIdent(fn.slice(dot + 1))}`;
}

/** `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER …` as the model has it. */
export function createUserTriggerSql(t: Trigger, o: { readonly replace?: boolean } = {}): string {
  const events = t.events
    .map((e) => (e === 'update' && t.columns !== undefined ? `UPDATE OF ${identList(t.columns)}` : e.toUpperCase()))
    .join(' OR ');
  const parts = [
    `CREATE ${o.replace ? 'OR REPLACE ' : ''}${t.constraint ? 'CONSTRAINT ' : ''}TRIGGER ${quoteIdent(t.name)}`,
    `${t.timing.toUpperCase()} ${events} ON ${qualifiedName(t.schema, t.table)}`,
  ];
  if (t.constraint) {
    parts.push(t.constraint.deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE');
    parts.push(t.constraint.initiallyDeferred ? 'INITIALLY DEFERRED' : 'INITIALLY IMMEDIATE');
  }
  if (t.oldTable !== undefined || t.newTable !== undefined) {
    parts.push('REFERENCING');
    if (t.oldTable !== undefined) parts.push(`OLD TABLE AS ${quoteIdent(t.oldTable)}`);
    if (t.newTable !== undefined) parts.push(`NEW TABLE AS ${quoteIdent(t.newTable)}`);
  }
  parts.push(`FOR EACH ${t.forEach.toUpperCase()}`);
  if (t.when !== undefined) parts.push(`WHEN (${roundTripText(t.when)})`);
  parts.push(`EXECUTE FUNCTION ${triggerFunctionSql(t.function)}(${(t.arguments ?? []).map(quoteLiteral).join(', ')})`);
  return parts.join(' ');
}

/** `ALTER TABLE … ENABLE | DISABLE | ENABLE REPLICA | ENABLE ALWAYS TRIGGER name`. */
export function enableTriggerSql(t: Trigger): string {
  const how =
    t.enabled === 'disabled'
      ? 'DISABLE'
      : t.enabled === 'replica'
        ? 'ENABLE REPLICA'
        : t.enabled === 'always'
          ? 'ENABLE ALWAYS'
          : 'ENABLE';
  return `ALTER TABLE ${qualifiedName(t.schema, t.table)} ${how} TRIGGER ${quoteIdent(t.name)}`;
}

export function commentTriggerSql(t: Trigger, text: string | undefined): string {
  return commentOnSql(`TRIGGER ${quoteIdent(t.name)} ON ${qualifiedName(t.schema, t.table)}`, text);
}

/** Everything that creates `t` as the model has it: the trigger, its enabled state, its comment. */
export function createUserTriggerStatements(t: Trigger, o: { readonly replace?: boolean } = {}): string[] {
  return [
    createUserTriggerSql(t, o),
    ...(t.enabled !== undefined ? [enableTriggerSql(t)] : []),
    ...(t.comment !== undefined ? [commentTriggerSql(t, t.comment)] : []),
  ];
}
