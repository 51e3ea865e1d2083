/**
 * Citus (sharded PostgreSQL): zdm has not been verified there (docs/scale.md). On a coordinator
 * whose Citus metadata lists distributed or reference tables, `zdm plan` and `zdm apply` refuse,
 * naming the tables, rather than emit SQL that Citus would propagate to every shard in ways the
 * techniques were not built for (a half-applied plan across shards). A server with the extension but
 * no distributed table is plain PostgreSQL to zdm.
 */

import type { Queryable } from '../db/connection.js';
import { ServerError } from '../errors.js';

/** The server runs Citus and has distributed, reference or Citus-managed tables. Exit 3. */
export class CitusError extends ServerError {
  override readonly name = 'CitusError';
}

const METHODS: Readonly<Record<string, string>> = {
  h: 'hash-distributed',
  n: 'reference or Citus-local',
  a: 'append-distributed',
  r: 'range-distributed',
};

/** The Citus tables of the database (`public.orders (hash-distributed)`), empty without Citus. */
export async function citusTables(c: Queryable): Promise<string[]> {
  // pg_dist_partition is Citus's catalog of the tables it manages; absent on plain PostgreSQL.
  const has = await c.query<{ t: string | null }>(
    `SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition')::text AS t`,
  );
  if (!has.rows[0]?.t) return [];
  const rows = await c.query<{ name: string; method: string }>(
    `SELECT n.nspname || '.' || cl.relname AS name, p.partmethod::text AS method
       FROM pg_catalog.pg_dist_partition p
       JOIN pg_catalog.pg_class cl ON cl.oid = p.logicalrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      ORDER BY 1`,
  );
  return rows.rows.map((r) => `${r.name} (${METHODS[r.method] ?? `partition method ${r.method}`})`);
}

/** @throws CitusError when the database has Citus tables. */
export async function refuseCitus(c: Queryable, command: string): Promise<void> {
  const tables = await citusTables(c);
  if (tables.length === 0) return;
  const shown = tables.slice(0, 10).join(', ') + (tables.length > 10 ? `, and ${tables.length - 10} more` : '');
  throw new CitusError(
    `${command}: this database is a Citus coordinator with ${tables.length} Citus table(s): ${shown}. zdm ` +
      "does not plan or apply schema changes on Citus yet: Citus propagates DDL to every shard, and zdm's " +
      'techniques (concurrent index builds, NOT VALID then VALIDATE, the partition swap, backfills) have not ' +
      'been verified there, so a plan could half-apply across shards. Nothing was changed. See docs/scale.md.',
  );
}
