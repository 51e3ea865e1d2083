/**
 * A table's row identity: what apply walks a table in batches by (src/apply/backfill.ts chooseKey,
 * src/apply/copy.ts), and what a partition swap's mirror trigger finds a row's copy by.
 */
import type { Index, Table } from '../model/types.js';

/** The plain columns of an index's keys (an expression key gives ''). */
export const indexColumns = (i: Index): string[] => i.keys.map((k) => k.column ?? '');

/** Its primary key, else a unique key (constraint, or plain unique index) over NOT NULL columns. */
export function rowKey(t: Table): readonly string[] | undefined {
  if (t.primaryKey) return t.primaryKey.columns;
  const notNull = (cols: readonly string[]) =>
    cols.every((c) => t.columns.find((x) => x.name === c)?.nullable === false);
  const u = t.uniqueConstraints.find((x) => notNull(x.columns));
  if (u) return u.columns;
  const ix = t.indexes.find(
    (i) => i.unique && i.where === undefined && i.keys.every((k) => k.column !== undefined) && notNull(indexColumns(i)),
  );
  return ix ? indexColumns(ix) : undefined;
}

/**
 * Whether apply can walk the table in key order. Without such a key it walks ctid ranges, which a
 * partitioned table does not have (each partition has its own).
 */
export function hasBatchKey(t: Table): boolean {
  return rowKey(t) !== undefined;
}
