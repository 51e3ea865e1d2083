/** Columns: their definition, and the ALTER TABLE statements that add, change and drop them. */
import {
  changedSettings,
  identitySettings,
  type SequenceSettingField,
  type SequenceSettings,
} from '../model/identity.js';
import type { Column, ColumnCompression, ColumnStorage, StorageParameters } from '../model/types.js';
import { catalogObjectName, parenthesized, storageParameterList, storageParameterName } from './fragments.js';
import { quoteIdent, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';
import { sequenceSettingsSql } from './sequences.js';

export interface ColumnSqlOptions {
  /** Leave NOT NULL out (the column is added nullable and made NOT NULL later). */
  readonly nullable?: boolean;
  /** Leave the default out (it is set by a separate statement). */
  readonly noDefault?: boolean;
  readonly schemas: ReadonlySet<string>;
}

/** `name type [COLLATE c] [NOT NULL] [DEFAULT d] [GENERATED …]` */
export function columnDefinition(c: Column, opts: ColumnSqlOptions): string {
  let sql = `${quoteIdent(c.name)} ${c.type}`;
  if (c.collation !== undefined) sql += ` COLLATE ${catalogObjectName(c.collation, opts.schemas)}`;
  if (!c.nullable && !opts.nullable) {
    sql += c.notNullName === undefined ? ' NOT NULL' : ` CONSTRAINT ${quoteIdent(c.notNullName)} NOT NULL`;
  }
  if (c.default !== undefined && !opts.noDefault) sql += ` DEFAULT ${roundTripText(c.default)}`;
  if (c.generated !== undefined) {
    sql += ` GENERATED ALWAYS AS ${parenthesized(roundTripText(c.generated.expression))} ${c.generated.stored ? 'STORED' : 'VIRTUAL'}`;
  }
  if (c.identity !== undefined) sql += ` ${identitySql(c)}`;
  return sql;
}

/** `GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY [(options)]`: only options that are not the defaults. */
export function identitySql(c: Pick<Column, 'type' | 'identity' | 'identityOptions'>): string {
  const s = identitySettings(c.type, c.identityOptions);
  const options = sequenceSettingsSql(s, changedSettings(identitySettings(c.type, undefined), s));
  return `GENERATED ${identityKind(c.identity ?? 'by default')} AS IDENTITY${options.length > 0 ? ` (${options.join(' ')})` : ''}`;
}

const identityKind = (identity: NonNullable<Column['identity']>): string =>
  identity === 'always' ? 'ALWAYS' : 'BY DEFAULT';

export function addColumnSql(table: RelationName, c: Column, opts: ColumnSqlOptions): string {
  return `ALTER TABLE ${rel(table)} ADD COLUMN ${columnDefinition(c, opts)}`;
}

export function dropColumnSql(table: RelationName, column: string, o: { readonly ifExists?: boolean } = {}): string {
  return `ALTER TABLE ${rel(table)} DROP COLUMN ${o.ifExists ? 'IF EXISTS ' : ''}${quoteIdent(column)}`;
}

export function renameColumnSql(table: RelationName, from: string, to: string): string {
  return `ALTER TABLE ${rel(table)} RENAME COLUMN ${quoteIdent(from)} TO ${quoteIdent(to)}`;
}

const alterColumn = (table: RelationName, column: string, action: string): string =>
  `ALTER TABLE ${rel(table)} ALTER COLUMN ${quoteIdent(column)} ${action}`;

/** `TYPE type`: `type` as people write it (displayType), which is what the server prints back. */
export const columnTypeSql = (table: RelationName, column: string, type: string): string =>
  alterColumn(table, column, `TYPE ${type}`);
/** `TYPE type COLLATE collation` (`default` for the type's default collation). */
export const columnCollationSql = (
  table: RelationName,
  column: string,
  type: string,
  collation: string,
  schemas: ReadonlySet<string>,
): string => alterColumn(table, column, `TYPE ${type} COLLATE ${catalogObjectName(collation, schemas)}`);
export const setDefaultSql = (table: RelationName, column: string, expression: string): string =>
  alterColumn(table, column, `SET DEFAULT ${roundTripText(expression)}`);
export const dropDefaultSql = (table: RelationName, column: string): string =>
  alterColumn(table, column, 'DROP DEFAULT');
export const setNotNullSql = (table: RelationName, column: string): string =>
  alterColumn(table, column, 'SET NOT NULL');
export const dropNotNullSql = (table: RelationName, column: string): string =>
  alterColumn(table, column, 'DROP NOT NULL');
export const dropExpressionSql = (table: RelationName, column: string): string =>
  alterColumn(table, column, 'DROP EXPRESSION');
export const setExpressionSql = (table: RelationName, column: string, expression: string): string =>
  alterColumn(table, column, `SET EXPRESSION AS ${parenthesized(roundTripText(expression))}`);
/** `ADD GENERATED … AS IDENTITY [(options)]` on `column`, with the identity and options of `c`. */
export const addIdentitySql = (
  table: RelationName,
  column: string,
  c: Pick<Column, 'type' | 'identity' | 'identityOptions'>,
): string => alterColumn(table, column, `ADD ${identitySql(c)}`);
/** `SET INCREMENT BY 5 SET CYCLE …`: the options of an identity column's sequence that change. */
export const alterIdentitySql = (
  table: RelationName,
  column: string,
  s: SequenceSettings,
  fields: readonly SequenceSettingField[],
): string =>
  alterColumn(
    table,
    column,
    sequenceSettingsSql(s, fields)
      .map((o) => `SET ${o}`)
      .join(' '),
  );
export const dropIdentitySql = (table: RelationName, column: string): string =>
  alterColumn(table, column, 'DROP IDENTITY');
export const setGeneratedSql = (
  table: RelationName,
  column: string,
  identity: NonNullable<Column['identity']>,
): string => alterColumn(table, column, `SET GENERATED ${identityKind(identity)}`);

/**
 * `ALTER COLUMN c RESET (…), SET (…)` for attribute options that changed (`reset`: names to remove;
 * `set`: names and values to set); none when nothing changed.
 */
export function columnOptionsSql(
  table: RelationName,
  column: string,
  change: { readonly reset: readonly string[]; readonly set: StorageParameters },
): string[] {
  const sql: string[] = [];
  if (change.reset.length > 0) {
    sql.push(alterColumn(table, column, `RESET (${change.reset.map(storageParameterName).join(', ')})`));
  }
  if (Object.keys(change.set).length > 0) {
    sql.push(alterColumn(table, column, `SET (${storageParameterList(change.set)})`));
  }
  return sql;
}

/** `ALTER COLUMN c SET STATISTICS n` (none: -1, the server's default_statistics_target). */
export function columnStatisticsSql(table: RelationName, column: string, target: number | undefined): string {
  return alterColumn(table, column, `SET STATISTICS ${target ?? -1}`);
}

/**
 * `ALTER COLUMN c SET STORAGE s` (none: `DEFAULT`, the type's strategy, which PostgreSQL 16 and
 * later accept; the planner refuses it before).
 */
export function columnStorageSql(table: RelationName, column: string, storage: ColumnStorage | undefined): string {
  return alterColumn(table, column, `SET STORAGE ${(storage ?? 'default').toUpperCase()}`);
}

/** `ALTER COLUMN c SET COMPRESSION m` (none: `DEFAULT`, the server's default_toast_compression). */
export function columnCompressionSql(
  table: RelationName,
  column: string,
  compression: ColumnCompression | undefined,
): string {
  return alterColumn(table, column, `SET COMPRESSION ${compression ?? 'DEFAULT'}`);
}

/**
 * What a new column declares beyond its definition: its attribute options, statistics target,
 * storage and compression.
 */
export function columnPropertiesSql(table: RelationName, c: Column): string[] {
  return [
    ...(c.options !== undefined ? columnOptionsSql(table, c.name, { reset: [], set: c.options }) : []),
    ...(c.statistics !== undefined ? [columnStatisticsSql(table, c.name, c.statistics)] : []),
    ...(c.storage !== undefined ? [columnStorageSql(table, c.name, c.storage)] : []),
    ...(c.compression !== undefined ? [columnCompressionSql(table, c.name, c.compression)] : []),
  ];
}
