/** Collations: CREATE, DROP and COMMENT ON, from the model. */
import type { Collation } from '../model/types.js';
import { commentOnSql } from './comments.js';
import { qualifiedName, quoteLiteral } from './quote.js';

/** `CREATE COLLATION s.n (provider = …, locale = … | lc_collate = …, lc_ctype = …[, deterministic = false])`. */
export function createCollationSql(schema: string, c: Collation): string[] {
  const options = [`provider = ${c.provider}`];
  if (c.locale !== undefined) options.push(`locale = ${quoteLiteral(c.locale)}`);
  if (c.lcCollate !== undefined) options.push(`lc_collate = ${quoteLiteral(c.lcCollate)}`);
  if (c.lcCtype !== undefined) options.push(`lc_ctype = ${quoteLiteral(c.lcCtype)}`);
  if (c.deterministic === false) options.push('deterministic = false');
  return [
    `CREATE COLLATION ${qualifiedName(schema, c.name)} (${options.join(', ')})`,
    ...(c.comment !== undefined ? [commentCollationSql(schema, c.name, c.comment)] : []),
  ];
}

export function dropCollationSql(schema: string, name: string): string {
  return `DROP COLLATION ${qualifiedName(schema, name)}`;
}

export function commentCollationSql(schema: string, name: string, text: string | undefined): string {
  return commentOnSql(`COLLATION ${qualifiedName(schema, name)}`, text);
}
