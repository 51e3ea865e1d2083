/** Schemas and extensions. */
import type { Extension } from '../model/types.js';
import { quoteIdent, quoteLiteral } from './quote.js';

export function createSchemaSql(name: string): string {
  return `CREATE SCHEMA ${quoteIdent(name)}`;
}

/** No CASCADE: anything left in the schema makes it fail rather than vanish silently. */
export function dropSchemaSql(name: string, o: { readonly ifExists?: boolean } = {}): string {
  return `DROP SCHEMA ${o.ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name)}`;
}

export function createExtensionSql(e: Extension, o: { readonly ifNotExists?: boolean } = {}): string {
  const schema = e.schema !== undefined ? ` SCHEMA ${quoteIdent(e.schema)}` : '';
  const version = e.version !== undefined ? ` VERSION ${quoteLiteral(e.version)}` : '';
  return `CREATE EXTENSION ${o.ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(e.name)}${schema}${version}`;
}

export function alterExtensionVersionSql(name: string, version: string): string {
  return `ALTER EXTENSION ${quoteIdent(name)} UPDATE TO ${quoteLiteral(version)}`;
}

export function dropExtensionSql(name: string): string {
  return `DROP EXTENSION ${quoteIdent(name)}`;
}

export function alterExtensionSchemaSql(name: string, schema: string): string {
  return `ALTER EXTENSION ${quoteIdent(name)} SET SCHEMA ${quoteIdent(schema)}`;
}
