/**
 * Partitioning: the partition key and bounds, creating, attaching and detaching partitions, and the
 * statements that move the rows a new partition covers out of the default partition.
 */
import type { PartitionBound, PartitionKey, StorageParameters } from '../model/types.js';
import { addConstraintSql, dropConstraintSql } from './constraints.js';
import { integer, withClause } from './fragments.js';
import { identList, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';
import { lockTablesSql } from './session.js';

/** A key element: a plain column name is quoted, an expression (`(lower(x))`) is SQL as it is. */
function partitionKeyElement(e: string): string {
  return /^[^\s()"]+$/.test(e) ? quoteIdent(e) : e;
}

export function partitionBySql(key: PartitionKey): string {
  return `PARTITION BY ${key.strategy.toUpperCase()} (${key.columns.map(partitionKeyElement).join(', ')})`;
}

/** A bound value: MINVALUE/MAXVALUE/NULL and SQL literals as they are, anything else as a string literal. */
export function boundValue(v: string): string {
  if (/^(minvalue|maxvalue|null|true|false)$/i.test(v)) return v.toUpperCase();
  if (/^'(?:[^']|'')*'(?:::[\w ."[\]]+)?$/.test(v)) return v;
  return quoteLiteral(v);
}

export function partitionBoundSql(b: PartitionBound): string {
  switch (b.kind) {
    case 'range':
      return `FOR VALUES FROM (${b.from.map(boundValue).join(', ')}) TO (${b.to.map(boundValue).join(', ')})`;
    case 'list':
      return `FOR VALUES IN (${b.values.map(boundValue).join(', ')})`;
    case 'hash':
      return `FOR VALUES WITH (MODULUS ${integer(String(b.modulus), 'modulus')}, REMAINDER ${integer(String(b.remainder), 'remainder')})`;
    case 'default':
      return 'DEFAULT';
  }
}

/**
 * `CREATE TABLE p PARTITION OF parent [(CONSTRAINT n NOT NULL c, …)] <bound> [PARTITION BY …] [WITH (…)]`.
 * The partition takes its parent's NOT NULL constraint names (PostgreSQL 18), but those `notNullNames` gives.
 */
export function createPartitionOfSql(
  partition: RelationName,
  parent: RelationName,
  bound: PartitionBound,
  partitionBy?: PartitionKey,
  parameters?: StorageParameters,
  notNullNames?: Readonly<Record<string, string>>,
): string {
  const by = partitionBy ? ` ${partitionBySql(partitionBy)}` : '';
  const names = Object.entries(notNullNames ?? {});
  const constraints =
    names.length === 0
      ? ''
      : ` (${names.map(([c, n]) => `CONSTRAINT ${quoteIdent(n)} NOT NULL ${quoteIdent(c)}`).join(', ')})`;
  return `CREATE TABLE ${rel(partition)} PARTITION OF ${rel(parent)}${constraints} ${partitionBoundSql(bound)}${by}${withClause(parameters)}`;
}

/**
 * A new, empty table shaped like the partitioned table, attached as a partition afterwards:
 * `CREATE TABLE … (LIKE parent INCLUDING DEFAULTS INCLUDING CONSTRAINTS [INCLUDING GENERATED]) [PARTITION BY …] [WITH (…)]`.
 */
export function createPartitionLikeSql(
  partition: RelationName,
  parent: RelationName,
  generated: boolean,
  partitionBy?: PartitionKey,
  parameters?: StorageParameters,
): string {
  const by = partitionBy ? ` ${partitionBySql(partitionBy)}` : '';
  return `CREATE TABLE ${rel(partition)} (LIKE ${rel(parent)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS${generated ? ' INCLUDING GENERATED' : ''})${by}${withClause(parameters)}`;
}

export function attachPartitionSql(parent: RelationName, partition: RelationName, bound: PartitionBound): string {
  return `ALTER TABLE ${rel(parent)} ATTACH PARTITION ${rel(partition)} ${partitionBoundSql(bound)}`;
}

export function detachPartitionConcurrentlySql(parent: RelationName, partition: RelationName): string {
  return `ALTER TABLE ${rel(parent)} DETACH PARTITION ${rel(partition)} CONCURRENTLY`;
}

/** A predicate over the parent's rows that holds exactly for the rows the bound takes (undefined: every row). */
export function boundPredicateSql(key: PartitionKey, bound: PartitionBound): string | undefined {
  const cols = key.columns.map(partitionKeyElement);
  switch (bound.kind) {
    case 'range': {
      const side = (values: readonly string[], lower: boolean): string | undefined => {
        const cut = values.findIndex((v) => /^(minvalue|maxvalue)$/i.test(v));
        const n = cut < 0 ? values.length : cut;
        if (n === 0) return undefined;
        const after = cut < 0 ? undefined : values[cut]!.toLowerCase();
        // The first MINVALUE/MAXVALUE ends the comparison: the prefix decides, inclusive or not.
        const op = lower ? (after === 'maxvalue' ? '>' : '>=') : after === 'maxvalue' ? '<=' : '<';
        const l = n === 1 ? cols[0]! : `(${cols.slice(0, n).join(', ')})`;
        const r = n === 1 ? boundValue(values[0]!) : `(${values.slice(0, n).map(boundValue).join(', ')})`;
        return `${l} ${op} ${r}`;
      };
      const parts = [side(bound.from, true), side(bound.to, false)].filter((x): x is string => x !== undefined);
      return parts.length === 0 ? undefined : parts.join(' AND ');
    }
    case 'list': {
      const values = bound.values.filter((v) => !/^null$/i.test(v));
      const parts: string[] = [];
      if (values.length > 0) parts.push(`${cols[0]} IN (${values.map(boundValue).join(', ')})`);
      if (values.length < bound.values.length) parts.push(`${cols[0]} IS NULL`);
      return parts.length === 0 ? 'false' : parts.join(' OR ');
    }
    // A hash-partitioned table has no default partition to move rows out of.
    case 'hash':
    case 'default':
      return undefined;
  }
}

/**
 * Adding a partition to a table that has a default partition: rows of the default partition that
 * the new partition covers must move into it, or ATTACH fails (PostgreSQL checks the default
 * partition's rows against the new bound). One transaction, under lock_timeout:
 *
 *   LOCK TABLE default IN EXCLUSIVE MODE          -- writes to the default partition wait, reads go on
 *   WITH moved AS (DELETE FROM default WHERE <bound> RETURNING cols) INSERT INTO new (cols) SELECT cols FROM moved
 *   ALTER TABLE new ADD CONSTRAINT tmp CHECK (<bound>)   -- lets ATTACH skip scanning the new partition
 *   ALTER TABLE parent ATTACH PARTITION new …     -- scans the default partition under ACCESS EXCLUSIVE
 *   ALTER TABLE new DROP CONSTRAINT tmp
 *
 * The rows leave the default partition and appear in the new one in the same commit. EXCLUSIVE on
 * the default partition stops a concurrent write from putting a covered row back between the move
 * and the ATTACH (which would make the ATTACH fail). Returns the statements `before` the ATTACH and
 * `after` it.
 */
export function moveFromDefaultSql(
  defaultPart: RelationName,
  target: RelationName,
  columns: readonly string[],
  predicate: string,
  checkName: string,
): { readonly before: string[]; readonly after: string[] } {
  const cols = identList(columns);
  return {
    before: [
      lockTablesSql([defaultPart], 'EXCLUSIVE'),
      `WITH moved AS (DELETE FROM ${rel(defaultPart)} WHERE ${predicate} RETURNING ${cols}) ` +
        `INSERT INTO ${rel(target)} (${cols}) SELECT ${cols} FROM moved`,
      addConstraintSql(target, `CONSTRAINT ${quoteIdent(checkName)} CHECK (${predicate})`),
    ],
    after: [dropConstraintSql(target, checkName)],
  };
}

/** Rows of `table` that fall in none of the partitions whose constraints (pg_get_partition_constraintdef) are given. */
export function countOutsideSql(table: RelationName, constraints: readonly string[]): string {
  return `SELECT pg_catalog.count(*)::text AS n FROM ${rel(table)} WHERE NOT COALESCE(${constraints.join(' OR ')}, false)`;
}

/** An empty temporary partitioned table with the columns of `like`, for reading partition constraints. */
export function createProbeSql(probe: string, like: RelationName, key: PartitionKey): string {
  return `CREATE TEMP TABLE ${quoteIdent(probe)} (LIKE ${rel(like)}) ${partitionBySql(key)}`;
}

/** A temporary partition of the probe table, for `pg_get_partition_constraintdef` of its bound. */
export function createProbePartitionSql(partition: string, probe: string, bound: PartitionBound): string {
  return `CREATE TEMP TABLE ${quoteIdent(partition)} PARTITION OF ${quoteIdent(probe)} ${partitionBoundSql(bound)}`;
}
