/** Sequences, and the statements that move an identity or serial sequence past the values a table holds. */
import type { SequenceSettingField, SequenceSettings } from '../model/identity.js';
import type { Sequence } from '../model/types.js';
import { dollarQuoted, integer } from './fragments.js';
import { qualifiedName, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';

export const SEQUENCE_FIELDS = ['type', 'increment', 'minValue', 'maxValue', 'start', 'cache', 'cycle'] as const;

const SEQUENCE_CLAUSES: Readonly<Record<SequenceSettingField, (s: SequenceSettings) => string>> = {
  increment: (s) => `INCREMENT BY ${s.increment}`,
  minValue: (s) => `MINVALUE ${s.minValue}`,
  maxValue: (s) => `MAXVALUE ${s.maxValue}`,
  start: (s) => `START WITH ${s.start}`,
  cache: (s) => `CACHE ${s.cache}`,
  cycle: (s) => (s.cycle ? 'CYCLE' : 'NO CYCLE'),
};

/** Clauses of CREATE/ALTER SEQUENCE (and of an identity column's options) for the given fields: `INCREMENT BY 5`, `NO CYCLE`… */
export function sequenceSettingsSql(s: SequenceSettings, fields: readonly SequenceSettingField[]): string[] {
  return fields.map((f) => SEQUENCE_CLAUSES[f](s));
}

/** The option clauses of CREATE/ALTER SEQUENCE for the given fields. */
export function sequenceOptions(q: Sequence, fields: readonly (keyof Sequence)[]): string {
  const parts: string[] = [];
  if (fields.includes('type')) {
    if (!/^(smallint|integer|bigint)$/.test(q.type)) throw new Error(`sequence type ${q.type}`);
    parts.push(`AS ${q.type}`);
  }
  const settings: SequenceSettings = {
    start: BigInt(integer(q.start, 'start')),
    increment: BigInt(integer(q.increment, 'increment')),
    minValue: BigInt(integer(q.minValue, 'minValue')),
    maxValue: BigInt(integer(q.maxValue, 'maxValue')),
    cache: BigInt(integer(q.cache, 'cache')),
    cycle: q.cycle,
  };
  const settingFields = fields.filter((f): f is SequenceSettingField => f in SEQUENCE_CLAUSES);
  parts.push(...sequenceSettingsSql(settings, settingFields));
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

export function dropSequenceSql(q: RelationName, o: { readonly ifExists?: boolean } = {}): string {
  return `DROP SEQUENCE ${o.ifExists ? 'IF EXISTS ' : ''}${rel(q)}`;
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

/**
 * After a table swap: the identity sequence of `table` (the copy, which now has the table's name)
 * takes the name of `previous`'s (the retired table's), which takes the copy's: the sequence is
 * named as if the table had been created under its name. A DO block: identity sequence names are
 * PostgreSQL's choice, not in the model. ACCESS EXCLUSIVE on both sequences.
 */
export function swapIdentitySequenceNamesSql(table: RelationName, previous: RelationName, column: string): string {
  const body = [
    'DECLARE',
    `  o pg_catalog.regclass := ${serialSequence(previous, column)}::pg_catalog.regclass;`,
    `  n pg_catalog.regclass := ${serialSequence(table, column)}::pg_catalog.regclass;`,
    '  o_name pg_catalog.name := (SELECT relname FROM pg_catalog.pg_class WHERE oid = o);',
    '  n_name pg_catalog.name := (SELECT relname FROM pg_catalog.pg_class WHERE oid = n);',
    'BEGIN',
    '  IF o IS NULL OR n IS NULL THEN RETURN; END IF;',
    "  EXECUTE pg_catalog.format('ALTER SEQUENCE %s RENAME TO %I', o, 'zdm_seq_' || o::pg_catalog.oid);",
    "  EXECUTE pg_catalog.format('ALTER SEQUENCE %s RENAME TO %I', n, o_name);",
    "  EXECUTE pg_catalog.format('ALTER SEQUENCE %s RENAME TO %I', o, n_name);",
    'END',
  ].join('\n');
  return `DO ${dollarQuoted(`\n${body}\n`)}`;
}
