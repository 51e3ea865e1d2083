/** Sequences, and the statements that move an identity or serial sequence past the values a table holds. */
import type { Sequence } from '../model/types.js';
import { integer } from './fragments.js';
import { qualifiedName, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';

export const SEQUENCE_FIELDS = ['type', 'increment', 'minValue', 'maxValue', 'start', 'cache', 'cycle'] as const;

/** The option clauses of CREATE/ALTER SEQUENCE for the given fields. */
export function sequenceOptions(q: Sequence, fields: readonly (keyof Sequence)[]): string {
  const parts: string[] = [];
  for (const f of fields) {
    switch (f) {
      case 'type':
        if (!/^(smallint|integer|bigint)$/.test(q.type)) throw new Error(`sequence type ${q.type}`);
        parts.push(`AS ${q.type}`);
        break;
      case 'increment':
        parts.push(`INCREMENT BY ${integer(q.increment, 'increment')}`);
        break;
      case 'minValue':
        parts.push(`MINVALUE ${integer(q.minValue, 'minValue')}`);
        break;
      case 'maxValue':
        parts.push(`MAXVALUE ${integer(q.maxValue, 'maxValue')}`);
        break;
      case 'start':
        parts.push(`START WITH ${integer(q.start, 'start')}`);
        break;
      case 'cache':
        parts.push(`CACHE ${integer(q.cache, 'cache')}`);
        break;
      case 'cycle':
        parts.push(q.cycle ? 'CYCLE' : 'NO CYCLE');
        break;
      default:
        break;
    }
  }
  return parts.join(' ');
}

export function createSequenceSql(q: Sequence, fields: readonly (keyof Sequence)[] = SEQUENCE_FIELDS): string {
  return `CREATE SEQUENCE ${rel(q)} ${sequenceOptions(q, fields)}`;
}

export function alterSequenceSql(q: Sequence, fields: readonly (keyof Sequence)[]): string {
  return `ALTER SEQUENCE ${rel(q)} ${sequenceOptions(q, fields)}`;
}

/** `ALTER SEQUENCE q OWNED BY table.column` (or `NONE`): PostgreSQL drops the sequence with that column. */
export function setOwnedBySql(q: RelationName, owner: Sequence['ownedBy']): string {
  const by = owner === undefined ? 'NONE' : `${qualifiedName(owner.schema, owner.table)}.${quoteIdent(owner.column)}`;
  return `ALTER SEQUENCE ${rel(q)} OWNED BY ${by}`;
}

export function dropSequenceSql(q: RelationName): string {
  return `DROP SEQUENCE ${rel(q)}`;
}

/** The identity or serial sequence of a column, as a SQL expression. */
const serialSequence = (table: RelationName, column: string): string =>
  `pg_catalog.pg_get_serial_sequence(${quoteLiteral(rel(table))}, ${quoteLiteral(column)})`;

/** A new identity column's sequence started after the largest value the column holds (none: left as it is). */
export function identityAfterMaxSql(table: RelationName, column: string): string {
  const c = quoteIdent(column);
  return (
    `SELECT pg_catalog.setval(${serialSequence(table, column)}, pg_catalog.max(${c})) FROM ${rel(table)} ` +
    `HAVING pg_catalog.max(${c}) IS NOT NULL`
  );
}

/** The identity sequence of column `to` continued where the one of column `from` of the same table is. */
export function identityContinueSql(table: RelationName, from: string, to: string): string {
  return (
    `SELECT pg_catalog.setval(${serialSequence(table, to)}, v) FROM (SELECT pg_catalog.pg_sequence_last_value(` +
    `${serialSequence(table, from)}::pg_catalog.regclass) AS v) AS old_sequence WHERE v IS NOT NULL`
  );
}

/**
 * The identity sequence of `table.column` moved past both the sequence of the same column of
 * `previous` and the largest value `previous` holds.
 */
export function identityPastSql(table: RelationName, previous: RelationName, column: string): string {
  return (
    `SELECT pg_catalog.setval(${serialSequence(table, column)}, m) FROM (SELECT GREATEST(` +
    `pg_catalog.pg_sequence_last_value(${serialSequence(previous, column)}::pg_catalog.regclass), ` +
    `(SELECT pg_catalog.max(${quoteIdent(column)}) FROM ${rel(previous)})) AS m) AS zdm_last WHERE m IS NOT NULL`
  );
}
