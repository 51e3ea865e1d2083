/** Tables: CREATE TABLE with what a new table declares, and the statements that rename, alter and drop them. */
import type { Column, PartitionKey, RelationParts, Table } from '../model/types.js';
import { columnDefinition } from './columns.js';
import { addConstraintSql, checkSql, exclusionSql, primaryKeySql, uniqueSql } from './constraints.js';
import { createIndexSql } from './indexes.js';
import { createPartitionOfSql, partitionBySql } from './partitions.js';
import { quoteIdent, type RelationName, rel } from './quote.js';

/** `CREATE TABLE` with its columns and the constraints that can be declared inline (all but foreign keys). */
export function createTableSql(t: Table, schemas: ReadonlySet<string>): string {
  const lines = t.columns.map((c) => columnDefinition(c, { schemas }));
  if (t.primaryKey) lines.push(primaryKeySql(t.primaryKey));
  for (const u of t.uniqueConstraints) lines.push(uniqueSql(u));
  for (const c of t.checks) if (c.valid) lines.push(checkSql(c, false));
  for (const x of t.exclusionConstraints) lines.push(exclusionSql(x, schemas));
  const by = t.partitionBy ? ` ${partitionBySql(t.partitionBy)}` : '';
  return `CREATE ${t.unlogged ? 'UNLOGGED ' : ''}TABLE ${rel(t)} (\n  ${lines.join(',\n  ')}\n)${by}`;
}

/** `CREATE TABLE t (columns) [PARTITION BY …]` on one line: the columns alone, no constraint. */
export function createTableOfColumnsSql(
  table: RelationName,
  columns: readonly Column[],
  schemas: ReadonlySet<string>,
  partitionBy?: PartitionKey,
): string {
  return (
    `CREATE TABLE ${rel(table)} (${columns.map((c) => columnDefinition(c, { schemas })).join(', ')})` +
    (partitionBy ? ` ${partitionBySql(partitionBy)}` : '')
  );
}

/**
 * Statements that give a freshly created, empty relation what it declares beyond its CREATE TABLE:
 * keys, checks and exclusion constraints (unless CREATE TABLE declared them inline), the checks the
 * desired state wants NOT VALID (CREATE TABLE would validate them), and its indexes (plain CREATE
 * INDEX: nothing to wait for on an empty table).
 */
export function relationPartsSql(
  table: RelationName,
  r: RelationParts,
  schemas: ReadonlySet<string>,
  inlineDone: boolean,
): string[] {
  const sql: string[] = [];
  if (!inlineDone) {
    if (r.primaryKey) sql.push(addConstraintSql(table, primaryKeySql(r.primaryKey)));
    for (const u of r.uniqueConstraints) sql.push(addConstraintSql(table, uniqueSql(u)));
    for (const c of r.checks) if (c.valid) sql.push(addConstraintSql(table, checkSql(c, false)));
    for (const x of r.exclusionConstraints) sql.push(addConstraintSql(table, exclusionSql(x, schemas)));
  }
  for (const c of r.checks) if (!c.valid) sql.push(addConstraintSql(table, checkSql(c, true)));
  for (const i of r.indexes) sql.push(createIndexSql(table, i, { schemas }));
  return sql;
}

/** `CREATE TABLE p PARTITION OF parent …` and its parts, for every partition (at any depth) of a relation that is itself new. */
export function newPartitionsSql(parent: RelationName, r: RelationParts, schemas: ReadonlySet<string>): string[] {
  const sql: string[] = [];
  for (const p of r.partitions) {
    sql.push(createPartitionOfSql(p, parent, p.bound, p.partitionBy));
    sql.push(...relationPartsSql(p, p, schemas, false));
    sql.push(...newPartitionsSql(p, p, schemas));
  }
  return sql;
}

export function dropTableSql(table: RelationName): string {
  return `DROP TABLE ${rel(table)}`;
}

export function renameTableSql(table: RelationName, to: string): string {
  return `ALTER TABLE ${rel(table)} RENAME TO ${quoteIdent(to)}`;
}

export function setLoggedSql(table: RelationName, unlogged: boolean): string {
  return `ALTER TABLE ${rel(table)} SET ${unlogged ? 'UNLOGGED' : 'LOGGED'}`;
}
