/**
 * Rows of a live table that would fall into no partition of its desired partitioned form, counted at
 * plan time (the planner refuses a partition swap with such rows: the copy could not place them).
 *
 * The partition constraints are PostgreSQL's own: inside a transaction that is always rolled back, an
 * empty temporary partitioned table `LIKE` the live one gets the desired partitions, and
 * `pg_get_partition_constraintdef` of each says exactly which rows it takes (MINVALUE/MAXVALUE,
 * multi-column ranges, NULLs in lists). The live table is then counted against their disjunction.
 */
import type { Queryable } from '../db/connection.js';
import type { Table } from '../model/types.js';
import { countOutsideSql, createProbePartitionSql, createProbeSql } from '../sql/partitions.js';

export interface PartitionChange {
  /** The live, plain table. */
  readonly from: Table;
  /** Its desired, partitioned form. */
  readonly to: Table;
}

/** `schema.table` → rows that no desired partition takes; tables with a default partition are not counted. */
export async function rowsOutsidePartitions(
  client: Queryable,
  changes: readonly PartitionChange[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { from, to } of changes) {
    if (!to.partitionBy || to.partitions.some((p) => p.bound.kind === 'default')) continue;
    const key = `${from.schema}.${from.name}`;
    if (to.partitions.length === 0) continue;
    await client.query('BEGIN');
    try {
      await client.query(createProbeSql('zdm_probe', from, to.partitionBy));
      const defs: string[] = [];
      for (const [i, p] of to.partitions.entries()) {
        const name = `zdm_probe_${i}`;
        await client.query(createProbePartitionSql(name, 'zdm_probe', p.bound));
        const d = await client.query<{ def: string | null }>(
          `SELECT pg_catalog.pg_get_partition_constraintdef(c.oid) AS def FROM pg_catalog.pg_class c
            WHERE c.relname = $1 AND c.relnamespace = pg_catalog.pg_my_temp_schema()`,
          [name],
        );
        const def = d.rows[0]?.def;
        if (def) defs.push(`(${def})`);
        else defs.push('true');
      }
      const r = await client.query<{ n: string }>(countOutsideSql(from, defs));
      out[key] = Number(r.rows[0]?.n ?? 0);
    } catch {
      // Bounds PostgreSQL refuses (an overlap, a bad literal): the planner reports them.
    } finally {
      await client.query('ROLLBACK');
    }
  }
  return out;
}

/**
 * Whether the session's role reads every row of a table whatever its row level security says: a
 * superuser or a role with BYPASSRLS (the owner of a table with FORCE ROW LEVEL SECURITY does not).
 */
export async function bypassesRowSecurity(client: Queryable): Promise<boolean> {
  const r = await client.query<{ bypass: boolean }>(
    `SELECT rolsuper OR rolbypassrls AS bypass FROM pg_catalog.pg_roles WHERE rolname = current_user`,
  );
  return r.rows[0]?.bypass === true;
}
