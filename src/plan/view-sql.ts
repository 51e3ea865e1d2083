/**
 * SQL of views and materialized views. Names go through the quoting module; a definition is the
 * server's normalized text (every name outside pg_catalog schema-qualified), used as it is.
 */
import type { MaterializedView, View } from '../model/types.js';
import { qualifiedName } from '../render/quote.js';
import { withClause } from './sql.js';

/** `[WITH (security_barrier = true, …)]` of a view. */
function viewOptions(v: View): string {
  const o: string[] = [];
  if (v.securityBarrier) o.push('security_barrier = true');
  if (v.securityInvoker) o.push('security_invoker = true');
  return o.length > 0 ? ` WITH (${o.join(', ')})` : '';
}

/**
 * `CREATE [OR REPLACE] VIEW …`. OR REPLACE sets every option anew: an option left out is reset
 * (PostgreSQL replaces the view's reloptions as a whole).
 */
export function createViewSql(v: View, orReplace = false): string {
  const check = v.checkOption === undefined ? '' : `\nWITH ${v.checkOption.toUpperCase()} CHECK OPTION`;
  return `CREATE ${orReplace ? 'OR REPLACE ' : ''}VIEW ${qualifiedName(v.schema, v.name)}${viewOptions(v)} AS\n${v.definition}${check}`;
}

/** `CREATE MATERIALIZED VIEW …` under the view's name or `name`, populated or `WITH NO DATA`. */
export function createMaterializedViewSql(v: MaterializedView, name = v.name): string {
  return (
    `CREATE MATERIALIZED VIEW ${qualifiedName(v.schema, name)}${withClause(v.with)} AS\n${v.definition}\n` +
    (v.withData ? 'WITH DATA' : 'WITH NO DATA')
  );
}

export function dropViewSql(v: View | MaterializedView): string {
  return `DROP ${v.kind === 'materializedView' ? 'MATERIALIZED VIEW' : 'VIEW'} ${qualifiedName(v.schema, v.name)}`;
}
