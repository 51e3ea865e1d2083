/**
 * Rows streamed from one connection to another through COPY: `COPY (query) TO STDOUT` on the reader,
 * piped as it arrives into `COPY table (cols) FROM STDIN` on the writer (text format: the server's
 * own output and input functions of every type, as pg_dump and pg_restore use them; no row is parsed
 * here, and no more than the streams' buffers is held in memory, whatever the rows' width).
 *
 * The writer's COPY is a statement of whatever transaction the writer has open. On any error the
 * reader is left mid-COPY (PostgreSQL has no way to stop a COPY TO but to cancel or disconnect): the
 * caller must close it and use a new one. The error is the first one either side met, with its
 * SQLSTATE (a unique violation of the writer, a lock timeout of the reader).
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Queryable } from './connection.js';

/** Whether `c` can stream COPY (a node-postgres client: test doubles and recorders cannot). */
export function canStreamCopy(c: Queryable): c is pg.Client {
  return c instanceof pg.Client;
}

/** Streams the rows of `outSql` (a `COPY … TO STDOUT`) on `reader` into `inSql` (a `COPY … FROM STDIN`) on `writer`; returns the rows written. */
export async function streamCopy(reader: pg.Client, outSql: string, writer: pg.Client, inSql: string): Promise<number> {
  const out = reader.query(copyTo(outSql));
  const into = writer.query(copyFrom(inSql));
  await pipeline(out, into);
  return into.rowCount;
}
