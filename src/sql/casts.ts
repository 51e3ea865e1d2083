/** Casts: CREATE CAST, DROP CAST and COMMENT ON CAST, from the model. */
import { castName } from '../model/casts.js';
import type { Cast } from '../model/types.js';
import { commentOnSql } from './comments.js';

const CONTEXT = { explicit: '', assignment: ' AS ASSIGNMENT', implicit: ' AS IMPLICIT' } as const;

/**
 * `CREATE CAST (s AS t) WITH FUNCTION f(…) | WITHOUT FUNCTION | WITH INOUT [AS ASSIGNMENT | AS
 * IMPLICIT]`, then its comment. Types and function as the model holds them: quoted where needed
 * (format_type and regprocedure print them so).
 */
export function createCastSql(c: Cast): string[] {
  const how =
    c.method === 'function' ? `WITH FUNCTION ${c.function}` : c.method === 'inout' ? 'WITH INOUT' : 'WITHOUT FUNCTION';
  return [
    `CREATE CAST ${castName(c)} ${how}${CONTEXT[c.context]}`,
    ...(c.comment !== undefined ? [commentCastSql(c, c.comment)] : []),
  ];
}

export function dropCastSql(c: Cast): string {
  return `DROP CAST ${castName(c)}`;
}

export function commentCastSql(c: Cast, text: string | undefined): string {
  return commentOnSql(`CAST ${castName(c)}`, text);
}
