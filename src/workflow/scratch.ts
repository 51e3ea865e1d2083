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

/** A scratch database made on a ScratchServer: dropped by `drop()`. */
export interface ScratchDatabase {
  readonly client: pg.Client;
  readonly info: ScratchInfo;
  /** Closes the client and drops the database; never throws. */
  drop(): Promise<void>;
}

/**
 * The server scratch databases are made on: an embedded one zdm started (stopped by `close()`), or
 * the user's `url`. One serves every scratch database of a `zdm plan` (normalizing, rehearsal), so
 * the embedded server starts once, and it can be started early, while the plan is being made
 * (`startScratchServer` does not wait to be used).
 */
export class ScratchServer {
  private constructor(
    private readonly admin: pg.Client,
    private readonly adminUrl: string,
    private readonly server: EmbeddedServer | undefined,
    private readonly source: string,
    private readonly t0: number,
  ) {}

  /** Starts the server (or connects to `url`), checks its major version and clears what a killed run left. */
  static async start(options: ScratchOptions): Promise<ScratchServer> {
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
    let admin: pg.Client | undefined;
    try {
      admin = await connect({ url: adminUrl, source: '--database-url' }, 'zdm scratch').catch((err: unknown) => {
        throw new ScratchError(`scratch database: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
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
      }
      const scratch = new ScratchServer(admin, adminUrl, server, source, t0);
      await scratch.createRoles(options.roles ?? []);
      return scratch;
    } catch (err) {
      await admin?.end().catch(() => {});
      await server?.stop();
      throw err;
    }
  }

  /** Creates the roles NOLOGIN where they do not exist (an embedded server only: the user's server has its own). */
  async createRoles(roles: readonly string[]): Promise<void> {
    if (!this.server) return;
    for (const role of [...new Set(roles)].sort()) {
      const exists = await this.admin.query('SELECT FROM pg_catalog.pg_roles WHERE rolname = $1', [role]);
      if (exists.rowCount === 0) await this.admin.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
    }
  }

  /** A fresh, empty database `zdm_scratch_<random>`, and a client on it. */
  async database(): Promise<ScratchDatabase> {
    const name = `zdm_scratch_${randomBytes(6).toString('hex')}`;
    try {
      await this.admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8'`);
    } catch (err) {
      throw new ScratchError(
        `cannot create the scratch database on ${this.source}: ${redact(err instanceof Error ? err.message : String(err))}`,
        { cause: err },
      );
    }
    const dropDatabase = () =>
      this.admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).then(
        () => {},
        () => {},
      );
    const url = new URL(this.adminUrl);
    url.pathname = `/${encodeURIComponent(name)}`;
    let client: pg.Client;
    try {
      client = await connect({ url: url.toString(), source: '--database-url' }, 'zdm scratch');
    } catch (err) {
      await dropDatabase();
      throw err;
    }
    return {
      client,
      info: {
        source: this.source,
        readyMs: performance.now() - this.t0,
        reusedCluster: this.server?.reused ?? false,
        url: url.toString(),
      },
      drop: async () => {
        await client.end().catch(() => {});
        await dropDatabase();
      },
    };
  }

  /** Ends the admin session and stops an embedded server. */
  async close(): Promise<void> {
    await this.admin.end().catch(() => {});
    await this.server?.stop();
  }
}

/** Runs `fn` with a client on a fresh, empty scratch database, and always throws the database away. */
export async function withScratchDatabase<T>(
  options: ScratchOptions,
  fn: (client: pg.Client, info: ScratchInfo) => Promise<T>,
): Promise<T> {
  const scratch = new PlanScratch(options);
  try {
    return await scratch.with(fn);
  } finally {
    await scratch.close();
  }
}

/**
 * The scratch server of one `zdm plan`, shared by everything that plan needs a scratch database for
 * (normalizing views and routines, rehearsal), started on first need and stopped by `close()`.
 * `ahead()` starts the server and makes the next database in the background, while the plan is
 * still being made: rehearsal, which always needs one, then finds it ready instead of waiting for a
 * server start and a CREATE DATABASE (a few hundred ms, more on a busy machine).
 */
export class PlanScratch {
  private started: Promise<ScratchServer> | undefined;
  private next: Promise<ScratchDatabase> | undefined;

  constructor(private readonly options: ScratchOptions) {}

  /** The server, started on the first call. */
  server(): Promise<ScratchServer> {
    if (!this.started) {
      this.started = ScratchServer.start(this.options);
      // Awaited by whoever uses it; a start that fails before then is not an unhandled rejection.
      this.started.catch(() => {});
    }
    return this.started;
  }

  /** Starts the server, and the next database, without waiting for either. */
  ahead(): void {
    if (this.next) return;
    this.next = this.server().then((s) => s.database());
    this.next.catch(() => {});
  }

  /** A fresh database: the one made ahead if there is one, else a new one. */
  take(): Promise<ScratchDatabase> {
    const db = this.next ?? this.server().then((s) => s.database());
    this.next = undefined;
    return db;
  }

  /** Runs `fn` on a database of `take()`, dropped afterwards. */
  async with<T>(fn: (client: pg.Client, info: ScratchInfo) => Promise<T>): Promise<T> {
    const db = await this.take();
    try {
      return await fn(db.client, db.info);
    } finally {
      await db.drop();
    }
  }

  /** Drops a database made ahead and not used, and stops the server; never throws. */
  async close(): Promise<void> {
    if (this.next)
      await this.next.then(
        (db) => db.drop(),
        () => {},
      );
    this.next = undefined;
    if (this.started)
      await this.started.then(
        (s) => s.close(),
        () => {},
      );
  }
}
