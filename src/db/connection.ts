/**
 * Connections: `--database-url`, else `DATABASE_URL`, else libpq's `PG*` variables (node-postgres reads
 * them itself). TLS follows `sslmode` in the URL. A password never appears in any output or error:
 * every message that could carry the URL goes through `redact`.
 */
import { createRequire } from 'node:module';
import type * as Pg from 'pg';
import { ServerError } from '../errors.js';
import { redact } from './redact.js';

export { redact } from './redact.js';

/**
 * node-postgres asks, as it loads (lib/stream.js, `isCloudflareRuntime`), whether it runs in a
 * Cloudflare Worker: where there is no global `navigator` (Node 20) it constructs a `Response`,
 * which loads Node's whole fetch implementation (undici), ~40 ms of every command's start. A
 * `navigator` saying Node.js answers the question first; it exists only while pg loads.
 */
function loadPg(): typeof Pg.default {
  const require = createRequire(import.meta.url);
  const g = globalThis as { navigator?: unknown };
  if (g.navigator !== undefined) return require('pg');
  Object.defineProperty(globalThis, 'navigator', {
    value: { userAgent: 'Node.js' },
    configurable: true,
    writable: true,
  });
  try {
    return require('pg');
  } finally {
    delete g.navigator;
  }
}

const pg = loadPg();

export interface ConnectionTarget {
  /** Connection string, when one was given; absent means "use PG* variables". */
  readonly url?: string;
  /** Where the target came from, for messages. */
  readonly source: '--database-url' | 'DATABASE_URL' | 'PG* environment' | 'targets file';
}

export function resolveTarget(flagUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): ConnectionTarget {
  if (flagUrl) return { url: flagUrl, source: '--database-url' };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'DATABASE_URL' };
  return { source: 'PG* environment' };
}

function passwordOf(url: string | undefined): string | undefined {
  if (!url) return process.env.PGPASSWORD || undefined;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** Describes a target without its password: `postgresql://app:***@db:5432/shop`. */
export function describeTarget(t: ConnectionTarget): string {
  if (t.url) return redact(t.url, passwordOf(t.url));
  const env = process.env;
  return `postgresql://${env.PGUSER ?? ''}@${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? '5432'}/${env.PGDATABASE ?? ''} (from PG* environment)`;
}

export class ConnectionError extends ServerError {
  override readonly name = 'ConnectionError';
}

/** The narrow port the core's edges use: anything that runs a query. */
export interface Queryable {
  query<R extends Pg.QueryResultRow = Pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<Pg.QueryResult<R>>;
}

export async function connect(target: ConnectionTarget, applicationName = 'zdm'): Promise<Pg.Client> {
  const client = new pg.Client({
    ...(target.url ? { connectionString: target.url } : {}),
    application_name: applicationName,
  });
  // An idle client whose server goes away emits 'error'; without a listener Node crashes the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new ConnectionError(`cannot connect to ${describeTarget(target)}: ${redact(msg, passwordOf(target.url))}`);
  }
  return client;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(target: ConnectionTarget, fn: (c: Pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(target);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
