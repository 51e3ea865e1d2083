/**
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
 * On a partitioned table the trigger is created on the parent (PostgreSQL 13+ clones it to every
 * partition). An UPDATE that moves a row to another partition fires the BEFORE UPDATE trigger on
 * the source and then the BEFORE INSERT trigger on the destination, with both columns set: the
 * INSERT rule then sets old := rev(new), which is the old value again unless rev(conv(x)) is not x.
 */
import { qualifiedName, quoteIdent, quoteLiteral } from '../render/quote.js';

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

export function castExpression(column: string, type: string): string {
  return `(NEW.${quoteIdent(column)})::${type}`;
}

/** The function's body and the statements that create it and the trigger, in one transaction. */
export function createSyncTriggerSql(s: SyncTriggerSpec): string[] {
  const o = `NEW.${quoteIdent(s.oldColumn)}`;
  const n = `NEW.${quoteIdent(s.newColumn)}`;
  const oo = `OLD.${quoteIdent(s.oldColumn)}`;
  const on = `OLD.${quoteIdent(s.newColumn)}`;
  const fn = qualifiedName(s.schema, s.name);
  const table = qualifiedName(s.schema, s.table);
  const body = `
#variable_conflict use_column
-- zdm: keeps ${oneLine(s.table)}.${oneLine(s.oldColumn)} (old) and ${oneLine(s.table)}.${oneLine(s.newColumn)} (new) equal
-- while both application versions run. Created in expand, dropped in contract (or by zdm rollback).
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF ${n} IS NULL THEN
      -- The new column has no default while the sync runs: NULL means the writer left it out.
      ${n} := ${s.conv};
    ELSE
      -- Only the new application version knows the new column: what it wrote wins.
      ${o} := ${s.rev};
    END IF;
  ELSIF ${o} IS DISTINCT FROM ${oo} AND ${n} IS NOT DISTINCT FROM ${on} THEN
    -- Only the old column changed (the old application version): follow it.
    ${n} := ${s.conv};
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
  const tag = dollarTag(body);
  return [
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${tag}${body}${tag}`,
    `COMMENT ON FUNCTION ${fn}() IS ${quoteLiteral(`zdm sync trigger: ${s.table}.${s.oldColumn} <-> ${s.newColumn}`)}`,
    `CREATE TRIGGER ${quoteIdent(s.name)} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}

export function dropSyncTriggerSql(s: Pick<SyncTriggerSpec, 'schema' | 'table' | 'name'>): string[] {
  return [
    `DROP TRIGGER ${quoteIdent(s.name)} ON ${qualifiedName(s.schema, s.table)}`,
    `DROP FUNCTION ${qualifiedName(s.schema, s.name)}()`,
  ];
}

/** Names inside a `--` comment: a line break in a name must not end the comment. */
const oneLine = (name: string): string => name.replace(/[\r\n]+/g, ' ');

/** A dollar-quote tag that does not occur in the body (column names and expressions are user text). */
export function dollarTag(body: string): string {
  let tag = '$zdm$';
  for (let i = 1; body.includes(tag); i++) tag = `$zdm${i}$`;
  return tag;
}
