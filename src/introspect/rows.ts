import type { Queryable } from '../db/connection.js';
import { emptyTablesSql } from '../sql/rows.js';

/** Tables per query: each probe takes an ACCESS SHARE lock until the query's transaction ends. */
const CHUNK = 200;

/**
 * The tables (`schema.name`) that hold no row right now. The planner treats those as empty: a NOT
 * NULL column without a default may be added, and a blocking operation costs nothing. Each probe
 * reads at most one row; an ACCESS SHARE lock conflicts only with ACCESS EXCLUSIVE.
 */
export async function emptyTables(
  client: Queryable,
  tables: readonly { readonly schema: string; readonly name: string }[],
): Promise<Set<string>> {
  const empty = new Set<string>();
  for (let i = 0; i < tables.length; i += CHUNK) {
    const chunk = tables.slice(i, i + CHUNK);
    const res = await client.query<{ i: number }>(emptyTablesSql(chunk));
    for (const r of res.rows) {
      const t = chunk[r.i]!;
      empty.add(`${t.schema}.${t.name}`);
    }
  }
  return empty;
}
