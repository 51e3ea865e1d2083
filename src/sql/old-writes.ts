/**
 * The contract gate's write tracking: while a column rename is between expand and contract, the
 * sync trigger (src/sql/triggers.ts) notes when a writer last changed only the old column, i.e.
 * when the old application version last wrote. `zdm status` shows it; `zdm apply --phase contract`
 * refuses while it is recent (src/apply/old-writes.ts).
 *
 * What is kept: one sequence in zdm's schema per tracked column, whose value is the epoch second of
 * the last old-version write (never called: none seen since expand). Why a sequence: `setval` is
 * not transactional and takes no row lock (a sequence is changed in place, under a buffer lock held
 * for the instant of the write, as every `nextval` of a serial key is), so the application's
 * writes never wait for each other on it, and nothing is a hot row: a table row updated by every
 * writer would serialize them on its row lock and leave a dead tuple per write. The value is read
 * first and written only when it is older than the current second: at most one `setval` per
 * second per column, whatever the write rate; every other old-version write only reads it.
 *
 * A write that is rolled back still counts (setval is not undone): the gate errs on the side of
 * caution. Concurrent writers in the same second may each set it; one that read the clock a moment
 * earlier may leave the value one second behind: the gate reads the last write as the end of its
 * second.
 *
 * Privileges: the sync trigger runs as the application's role, which may not even see schema zdm.
 * So the tracking is a SECURITY DEFINER function owned by the role that applies the plan, the only
 * one that can change the sequence; it can only set it to the current second (a caller can make the
 * gate refuse, the cautious side, never make it pass). Every name in it is schema-qualified, its
 * operator too (`OPERATOR(pg_catalog.<)`), so the caller's search_path cannot change what it calls;
 * its search_path is not pinned with `SET`, which would double the cost of a call (measured:
 * bench/old-writes.mjs). The application's roles get USAGE on schema zdm (to call it by name; the
 * journal's tables stay unreadable to them) and EXECUTE on the function.
 *
 * The trigger calls it as an assignment (`zdm_noted := zdm.f()`), which PL/pgSQL evaluates as a
 * simple expression, not through the executor as a `PERFORM` (half the cost again).
 */
import { JOURNAL_SCHEMA } from '../model/objects.js';
import { dollarQuoted } from './fragments.js';
import { quoteIdent, quoteLiteral, rel } from './quote.js';
import { dropSequenceSql } from './sequences.js';
import { dropFunctionSql } from './triggers.js';

/** The tracking sequence of one column, and its function (same name, in zdm's schema). */
export interface OldWritesTracking {
  /** The sequence and its function: `{ schema: 'zdm', name }`. */
  readonly schema: string;
  readonly name: string;
  /** `schema.table.column` of the old column, for the comment. */
  readonly column: string;
}

/** The tracking of a rename, named after its sync trigger (see generatedName). */
export function oldWritesTracking(name: string, column: string): OldWritesTracking {
  return { schema: JOURNAL_SCHEMA, name, column };
}

/** Creates the sequence and its function; runs in expand's transaction, before the sync trigger. */
export function createOldWritesSql(t: OldWritesTracking): string[] {
  const seq = rel(t);
  const regclass = `${quoteLiteral(seq)}::pg_catalog.regclass`;
  const body = `
DECLARE
  zdm_now bigint := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint;
BEGIN
  -- zdm: the old application version wrote ${commentSafe(t.column)}. Read first, set at most once a second.
  -- Every name is schema-qualified: this SECURITY DEFINER function runs under the caller's search_path.
  IF COALESCE(pg_catalog.pg_sequence_last_value(${regclass}), -1) OPERATOR(pg_catalog.<) zdm_now THEN
    PERFORM pg_catalog.setval(${regclass}, zdm_now);
    RETURN true;
  END IF;
  RETURN false;
END
`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.schema)}`,
    `GRANT USAGE ON SCHEMA ${quoteIdent(t.schema)} TO PUBLIC`,
    `CREATE SEQUENCE ${seq} AS bigint MINVALUE 0 START 0 NO CYCLE`,
    `COMMENT ON SEQUENCE ${seq} IS ${quoteLiteral(`zdm: epoch second of the last write of the old application version to ${t.column}`)}`,
    `CREATE FUNCTION ${seq}() RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS ${dollarQuoted(body)}`,
    `GRANT EXECUTE ON FUNCTION ${seq}() TO PUBLIC`,
  ];
}

/** The variable the sync trigger assigns the call's result to (see noteOldWriteSql). */
export const NOTED_VARIABLE = 'zdm_noted';

/** The PL/pgSQL statement the sync trigger runs on an old-version write (it declares NOTED_VARIABLE boolean). */
export function noteOldWriteSql(t: OldWritesTracking): string {
  return `${NOTED_VARIABLE} := ${rel(t)}();`;
}

/** Drops the function and the sequence (contract; rollback reads its inverse from createOldWritesSql). */
export function dropOldWritesSql(t: OldWritesTracking): string[] {
  return [dropFunctionSql(t, { ifExists: true }), dropSequenceSql(t, { ifExists: true })];
}

/**
 * The last old-version write of each tracked sequence (`$1`: text[] of `schema.name` as SQL),
 * read on the server's clock: `exists` false when the sequence is gone (its contract ran),
 * `last_write` null when none was seen, and `age_s` the seconds since the end of the second written.
 */
export const LAST_OLD_WRITES_SQL = `SELECT q.name, pg_catalog.to_regclass(q.name) IS NOT NULL AS exists,
       pg_catalog.to_timestamp(v.last) AS last_write,
       pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) - (v.last + 1) AS age_s
  FROM pg_catalog.unnest($1::text[]) AS q (name)
  LEFT JOIN LATERAL (SELECT pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass(q.name)) AS last) AS v ON true`;

/** Names inside a `--` comment: a line break in a name must not end the comment. */
const commentSafe = (name: string): string => name.replace(/[\r\n]+/g, ' ');
