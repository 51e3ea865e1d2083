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
 *   desired state names are created NOLOGIN first. Its cluster (what initdb makes: about 2 s of a
 *   3 s start) is kept under the OS temp dir (`cacheDir`) and started again next time — a scratch
 *   database is created fresh in it each run and dropped after, so nothing of one run reaches the
 *   next; a second zdm running at the same time starts a fresh server instead.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { connect, describeTarget, redact } from '../db/connection.js';
import { EmbeddedClusterBusy, type EmbeddedServer, startEmbedded } from '../db/embedded.js';
import { ServerError } from '../errors.js';
import { quoteIdent } from '../sql/quote.js';

export interface ScratchOptions {
  /** The live server's major version: the scratch server must have the same (deparsing differs between majors). */
  readonly major: number;
  /** A server to create the scratch database on; absent: an embedded server zdm starts. */
  readonly url?: string;
  /** Roles the objects built in the database name (owners, grants): created NOLOGIN in an embedded server. */
  readonly roles?: readonly string[];
  /** Server log lines of an embedded server, for debugging. */
  readonly onLog?: (line: string) => void;
  /**
   * Where an embedded server's cluster is kept between runs (initdb is most of its start-up):
   * default `ZDM_CACHE_DIR`, else `<OS temp dir>/zdm-cache-<uid>`; an empty string keeps none.
   */
  readonly cacheDir?: string;
  /** What zdm needs it for, in the message when none can be had: default `to normalize views`. */
  readonly purpose?: string;
}

function defaultCacheDir(): string {
  const env = process.env.ZDM_CACHE_DIR;
  if (env !== undefined) return env;
  return path.join(tmpdir(), `zdm-cache-${userInfo().uid}`);
}

export interface ScratchInfo {
  /** Where the database came from, for messages: `embedded PostgreSQL 18` or the URL without its password. */
  readonly source: string;
  /** Milliseconds spent getting the database ready (server start-up included). */
  readonly readyMs: number;
  /** An embedded server started on its cluster kept from an earlier run (no initdb). */
  readonly reusedCluster: boolean;
  /** The scratch database's URL, for a second session on it (never printed: it may hold a password). */
  readonly url: string;
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
    const log = options.onLog ? { onLog: options.onLog } : {};
    const cacheDir = options.cacheDir ?? defaultCacheDir();
    try {
      try {
        server = await startEmbedded({ major: options.major, ...log, ...(cacheDir ? { cacheDir } : {}) });
      } catch (err) {
        if (!(err instanceof EmbeddedClusterBusy)) throw err;
        server = await startEmbedded({ major: options.major, ...log });
      }
    } catch (err) {
      throw new ScratchError(
        `zdm needs a scratch database of PostgreSQL ${options.major} ${options.purpose ?? 'to normalize views'}, and could not start an ` +
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
        // A kept cluster may hold what an earlier run left when it was killed: its scratch
        // databases go; its roles serve again.
        const left = await admin.query<{ datname: string }>(
          `SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE 'zdm\\_scratch\\_%'`,
        );
        for (const { datname } of left.rows) await admin.query(`DROP DATABASE ${quoteIdent(datname)} WITH (FORCE)`);
        for (const role of [...new Set(options.roles ?? [])].sort()) {
          const exists = await admin.query('SELECT FROM pg_catalog.pg_roles WHERE rolname = $1', [role]);
          if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
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
          return await fn(client, {
            source,
            readyMs: performance.now() - t0,
            reusedCluster: server?.reused ?? false,
            url: url.toString(),
          });
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
