/** Tables: CREATE TABLE with what a new table declares, and the statements that rename, alter and drop them. */
import { inheritsParent } from '../model/objects.js';
import type { Column, PartitionKey, RelationParts, ReplicaIdentity, StorageParameters, Table } from '../model/types.js';
import { columnDefinition, columnPropertiesSql } from './columns.js';
import { constraintCommentsSql } from './comments.js';
import { addConstraintSql, checkSql, exclusionSql, primaryKeySql, uniqueSql } from './constraints.js';
import { storageParameterList, storageParameterName, withClause } from './fragments.js';
import { createIndexSql } from './indexes.js';
import { createPartitionOfSql, partitionBySql } from './partitions.js';
import { qualifiedName, quoteIdent, type RelationName, rel } from './quote.js';

/** `CREATE TABLE` with its columns and the constraints that can be declared inline (all but foreign keys). */
export function createTableSql(t: Table, schemas: ReadonlySet<string>): string {
  const lines = t.columns.map((c) => columnDefinition(c, { schemas }));
  if (t.primaryKey) lines.push(primaryKeySql(t.primaryKey));
  for (const u of t.uniqueConstraints) lines.push(uniqueSql(u));
  for (const c of t.checks) if (c.valid) lines.push(checkSql(c, false));
  for (const x of t.exclusionConstraints) lines.push(exclusionSql(x, schemas));
  const by = t.partitionBy ? ` ${partitionBySql(t.partitionBy)}` : '';
  const inherits = t.inherits === undefined ? '' : ` INHERITS (${t.inherits.map(parentName).join(', ')})`;
  return `CREATE ${t.unlogged ? 'UNLOGGED ' : ''}TABLE ${rel(t)} (\n  ${lines.join(',\n  ')}\n)${inherits}${by}${withClause(t.with)}`;
}

/** A parent of INHERITS, `schema.name` in the model, as SQL. */
function parentName(p: string): string {
  const { schema, name } = inheritsParent(p);
  return qualifiedName(schema, name);
}

/** `CREATE TABLE t (columns) [PARTITION BY …] [WITH (…)]` on one line: the columns alone, no constraint. */
export function createTableOfColumnsSql(
  table: RelationName,
  columns: readonly Column[],
  schemas: ReadonlySet<string>,
  partitionBy?: PartitionKey,
  parameters?: StorageParameters,
): string {
  return (
    `CREATE TABLE ${rel(table)} (${columns.map((c) => columnDefinition(c, { schemas })).join(', ')})` +
    (partitionBy ? ` ${partitionBySql(partitionBy)}` : '') +
    withClause(parameters)
  );
}

/**
 * Statements that give a freshly created, empty relation what it declares beyond its CREATE TABLE:
 * keys, checks and exclusion constraints (unless CREATE TABLE declared them inline), the checks the
 * desired state wants NOT VALID (CREATE TABLE would validate them), its indexes (plain CREATE
 * INDEX: nothing to wait for on an empty table), the comments of its constraints (those of its
 * foreign keys go with the foreign keys), then row level security and replica identity (after the
 * indexes: REPLICA IDENTITY USING INDEX needs its index).
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
  sql.push(
    ...constraintCommentsSql(table, [
      ...(r.primaryKey ? [r.primaryKey] : []),
      ...r.uniqueConstraints,
      ...r.checks,
      ...r.exclusionConstraints,
    ]),
  );
  sql.push(...relationPropertiesSql(table, r));
  return sql;
}

/** `CREATE TABLE p PARTITION OF parent …` and its parts, for every partition (at any depth) of a relation that is itself new. */
export function newPartitionsSql(parent: RelationName, r: RelationParts, schemas: ReadonlySet<string>): string[] {
  const sql: string[] = [];
  for (const p of r.partitions) {
    sql.push(createPartitionOfSql(p, parent, p.bound, p.partitionBy, p.with, p.notNullNames));
    sql.push(...relationPartsSql(p, p, schemas, false));
    sql.push(...newPartitionsSql(p, p, schemas));
  }
  return sql;
}

export function dropTableSql(table: RelationName, o: { readonly ifExists?: boolean } = {}): string {
  return `DROP TABLE ${o.ifExists ? 'IF EXISTS ' : ''}${rel(table)}`;
}

export function renameTableSql(table: RelationName, to: string): string {
  return `ALTER TABLE ${rel(table)} RENAME TO ${quoteIdent(to)}`;
}

export function setLoggedSql(table: RelationName, unlogged: boolean): string {
  return `ALTER TABLE ${rel(table)} SET ${unlogged ? 'UNLOGGED' : 'LOGGED'}`;
}

/**
 * `ALTER TABLE|INDEX x RESET (…), SET (…)`: storage parameters of a table or an index
 * (storageParameterChange in src/plan/storage-parameters.ts says which to name).
 */
export function setStorageParametersSql(
  kind: 'TABLE' | 'INDEX',
  target: RelationName,
  change: { readonly reset: readonly string[]; readonly set: StorageParameters },
): string {
  const actions: string[] = [];
  if (change.reset.length > 0) actions.push(`RESET (${change.reset.map(storageParameterName).join(', ')})`);
  if (Object.keys(change.set).length > 0) actions.push(`SET (${storageParameterList(change.set)})`);
  return `ALTER ${kind} ${rel(target)} ${actions.join(', ')}`;
}

/** `ALTER TABLE t { ENABLE | DISABLE | FORCE | NO FORCE } ROW LEVEL SECURITY` */
export function rowLevelSecuritySql(table: RelationName, setting: 'enable' | 'force', on: boolean): string {
  const verb = setting === 'enable' ? (on ? 'ENABLE' : 'DISABLE') : on ? 'FORCE' : 'NO FORCE';
  return `ALTER TABLE ${rel(table)} ${verb} ROW LEVEL SECURITY`;
}

/** `ALTER TABLE t REPLICA IDENTITY { DEFAULT | FULL | NOTHING | USING INDEX i }` */
export function replicaIdentitySql(table: RelationName, r: ReplicaIdentity | undefined): string {
  const what =
    r === undefined ? 'DEFAULT' : r.kind === 'index' ? `USING INDEX ${quoteIdent(r.index)}` : r.kind.toUpperCase();
  return `ALTER TABLE ${rel(table)} REPLICA IDENTITY ${what}`;
}

/** `ALTER TABLE t CLUSTER ON i`, or `ALTER TABLE t SET WITHOUT CLUSTER` (no index). */
export function clusterOnSql(table: RelationName, index: string | undefined): string {
  return `ALTER TABLE ${rel(table)} ${index === undefined ? 'SET WITHOUT CLUSTER' : `CLUSTER ON ${quoteIdent(index)}`}`;
}

/**
 * What a new, empty relation (table or partition) declares beyond its columns, keys and indexes:
 * row level security, replica identity and CLUSTER ON. No application uses it yet: nothing to stage.
 */
export function relationPropertiesSql(table: RelationName, r: RelationParts): string[] {
  const sql: string[] = [];
  if (r.rowLevelSecurity) sql.push(rowLevelSecuritySql(table, 'enable', true));
  if (r.forceRowLevelSecurity) sql.push(rowLevelSecuritySql(table, 'force', true));
  if (r.replicaIdentity !== undefined) sql.push(replicaIdentitySql(table, r.replicaIdentity));
  if (r.clusterOn !== undefined) sql.push(clusterOnSql(table, r.clusterOn));
  if ('columns' in r) for (const c of (r as Table).columns) sql.push(...columnPropertiesSql(table, c));
  return sql;
}
