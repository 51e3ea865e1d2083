/**
 * A scratch database: an empty database of the live server's major version, where zdm may build
 * what it likes and that it throws away afterwards. `zdm plan` builds the desired state there to let
 * the server normalize views (scratch-normalize.ts); a rehearsal of a whole plan can use it too.
 *
 *   await withScratchDatabase({ major: 18, url }, async (client) => { … });
 *
 * Where it comes from:
 * - `url` (`--scratch-url`, `ZDM_SCRATCH_URL`): a server the user provides, of the live server's major
 *   version. zdm creates a database `zdm_scratch_<random>` there and drops it at the end (the user
 *   needs CREATEDB). Nothing else on that server is touched.
 * - otherwise an embedded PostgreSQL of that major version that zdm starts itself (src/db/embedded.ts;
 *   binaries for linux-x64 come with the npm packages), stopped at the end. There, the roles the
 *   desired state names are created NOLOGIN first.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connect, describeTarget, redact } from '../db/connection.js';
import { type EmbeddedServer, startEmbedded } from '../db/embedded.js';
import { ServerError } from '../errors.js';
import { quoteIdent } from '../model/quote.js';

export interface ScratchOptions {
  /** The live server's major version: the scratch server must have the same (deparsing differs between majors). */
  readonly major: number;
  /** A server to create the scratch database on; absent: an embedded server zdm starts. */
  readonly url?: string;
  /** Roles the objects built in the database name (owners, grants): created NOLOGIN in an embedded server. */
  readonly roles?: readonly string[];
  /** Server log lines of an embedded server, for debugging. */
  readonly onLog?: (line: string) => void;
}

export interface ScratchInfo {
  /** Where the database came from, for messages: `embedded PostgreSQL 18` or the URL without its password. */
  readonly source: string;
  /** Milliseconds spent getting the database ready (server start-up included). */
  readonly readyMs: number;
}

/** No scratch database could be had, or it is unfit. Exit 3. */
export class ScratchError extends ServerError {
  override readonly name: string = 'ScratchError';
}

/** Runs `fn` with a client on a fresh, empty scratch database, and always throws the database away. */
export async function withScratchDatabase<T>(
  options: ScratchOptions,
  fn: (client: pg.Client, info: ScratchInfo) => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  let server: EmbeddedServer | undefined;
  let adminUrl = options.url;
  if (adminUrl === undefined) {
    try {
      server = await startEmbedded({ major: options.major, ...(options.onLog ? { onLog: options.onLog } : {}) });
    } catch (err) {
      throw new ScratchError(
        `zdm needs a scratch database of PostgreSQL ${options.major} to normalize views, and could not start an ` +
          `embedded one (${err instanceof Error ? err.message : String(err)}): give a server of that version with ` +
          '--scratch-url URL (or ZDM_SCRATCH_URL), where zdm may create and drop a database',
        { cause: err },
      );
    }
    adminUrl = server.url;
  }
  const source = server
    ? `embedded PostgreSQL ${options.major}`
    : describeTarget({ url: adminUrl, source: '--database-url' });
  try {
    const admin = await connect({ url: adminUrl, source: '--database-url' }, 'zdm scratch').catch((err: unknown) => {
      throw new ScratchError(`scratch database: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    const name = `zdm_scratch_${randomBytes(6).toString('hex')}`;
    try {
      const { rows } = await admin.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`);
      const major = Math.floor(Number(rows[0]!.v) / 10000);
      if (major !== options.major) {
        throw new ScratchError(
          `the scratch server ${source} is PostgreSQL ${major}, the live one ${options.major}: PostgreSQL prints ` +
            'definitions differently from one major version to the next, so the scratch server must be of the same one',
        );
      }
      if (server) {
        for (const role of [...new Set(options.roles ?? [])].sort()) {
          await admin.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
        }
      }
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8'`);
      } catch (err) {
        throw new ScratchError(
          `cannot create the scratch database on ${source}: ${redact(err instanceof Error ? err.message : String(err))}`,
          { cause: err },
        );
      }
      try {
        const url = new URL(adminUrl);
        url.pathname = `/${encodeURIComponent(name)}`;
        const client = await connect({ url: url.toString(), source: '--database-url' }, 'zdm scratch');
        try {
          return await fn(client, { source, readyMs: performance.now() - t0 });
        } finally {
          await client.end().catch(() => {});
        }
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
      }
    } finally {
      await admin.end().catch(() => {});
    }
  } finally {
    await server?.stop();
  }
}
