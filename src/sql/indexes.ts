/** Indexes: CREATE INDEX with its keys, and the statements that rename, attach, rebuild and drop them. */
import type { Index, IndexKey } from '../model/types.js';
import { catalogObjectName, includeSql, parenthesized, withClause } from './fragments.js';
import { qualifiedName, quoteIdent, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';

export function indexKeySql(k: IndexKey, schemas: ReadonlySet<string>): string {
  let sql: string;
  if (k.column !== undefined) sql = quoteIdent(k.column);
  else if (k.expression !== undefined) sql = parenthesized(roundTripText(k.expression));
  else throw new Error('index key with neither column nor expression');
  if (k.collation !== undefined) sql += ` COLLATE ${catalogObjectName(k.collation, schemas)}`;
  if (k.opclass !== undefined) sql += ` ${catalogObjectName(k.opclass, schemas)}`;
  if (k.descending) sql += ' DESC';
  if (k.nullsFirst !== undefined) sql += k.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST';
  return sql;
}

export interface IndexSqlOptions {
  readonly concurrently?: boolean;
  /** `ON ONLY parent`: the parent's index alone, its partitions' indexes attached one by one. */
  readonly only?: boolean;
  /** Name to build it under (default: the index's own). */
  readonly name?: string;
  readonly schemas: ReadonlySet<string>;
}

/** `CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON [ONLY] table [USING m] (keys) [INCLUDE] [NULLS NOT DISTINCT] [WITH] [WHERE]` */
export function createIndexSql(table: RelationName, ix: Index, opts: IndexSqlOptions): string {
  let sql = `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${opts.concurrently ? 'CONCURRENTLY ' : ''}`;
  sql += `${quoteIdent(opts.name ?? ix.name)} ON ${opts.only ? 'ONLY ' : ''}${rel(table)}`;
  if (ix.method !== 'btree') sql += ` USING ${quoteIdent(ix.method)}`;
  sql += ` (${ix.keys.map((k) => indexKeySql(k, opts.schemas)).join(', ')})`;
  sql += includeSql(ix.include);
  if (ix.nullsNotDistinct) sql += ' NULLS NOT DISTINCT';
  sql += withClause(ix.with);
  if (ix.where !== undefined) sql += ` WHERE ${roundTripText(ix.where)}`;
  return sql;
}

/** `DROP INDEX [CONCURRENTLY] [IF EXISTS] schema.name` */
export function dropIndexSql(
  index: RelationName,
  o: { readonly concurrently?: boolean; readonly ifExists?: boolean } = {},
): string {
  return `DROP INDEX ${o.concurrently ? 'CONCURRENTLY ' : ''}${o.ifExists ? 'IF EXISTS ' : ''}${rel(index)}`;
}

export function renameIndexSql(schema: string, from: string, to: string): string {
  return `ALTER INDEX ${qualifiedName(schema, from)} RENAME TO ${quoteIdent(to)}`;
}

/** Rebuilds an INVALID index (a failed CONCURRENTLY build) without blocking writes. */
export function reindexConcurrentlySql(index: RelationName): string {
  return `REINDEX INDEX CONCURRENTLY ${rel(index)}`;
}

/** Attaches a partition's index to its parent's (`ON ONLY`) index. */
export function attachIndexSql(parent: RelationName, child: RelationName): string {
  return `ALTER INDEX ${rel(parent)} ATTACH PARTITION ${rel(child)}`;
}
