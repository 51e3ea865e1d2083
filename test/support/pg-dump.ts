/**
 * `pg_dump --schema-only` as a second referee of the convergence tests, where the machine's pg_dump
 * can dump the server: pg_dump refuses a server of a newer major version than its own, and the
 * embedded PostgreSQL packages ship no pg_dump. `pgDumpFor(serverMajor)` says which pg_dump (if any)
 * can be used, and why not otherwise.
 *
 *   const dump = pgDumpFor(18);            // { usable: false, reason: 'pg_dump 15 cannot dump …' }
 *   if (dump.usable) lines = await pgDumpLines(dump, url);
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type PgDump =
  | { readonly usable: true; readonly bin: string; readonly major: number }
  | { readonly usable: false; readonly reason: string };

/** The pg_dump on PATH (or `ZDM_PG_DUMP`), if its major version is at least the server's. */
export function pgDumpFor(serverMajor: number): PgDump {
  const bin = process.env.ZDM_PG_DUMP ?? 'pg_dump';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { usable: false, reason: `${bin} not found (${r.error?.message ?? r.stderr})` };
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(r.stdout);
  if (!m) return { usable: false, reason: `${bin} --version said ${JSON.stringify(r.stdout.trim())}` };
  const major = Number(m[1]);
  if (major < serverMajor) {
    return { usable: false, reason: `${bin} is version ${major}: it refuses a server of version ${serverMajor}` };
  }
  return { usable: true, bin, major };
}

/**
 * The schema as pg_dump prints it, one line per statement (whitespace collapsed), without comments,
 * SET lines, `\restrict` lines and zdm's own schema. A CREATE TABLE or CREATE TYPE … AS ( … ) is cut
 * into one line per column (`CREATE TABLE public.t (… id integer NOT NULL …)`) and one for the rest
 * (`CREATE TABLE public.t (…) INHERITS (public.base);`): column order is not a difference, and a
 * column is still known by its table. Storage parameter lists are sorted.
 */
export async function pgDumpLines(dump: PgDump & { usable: true }, url: string): Promise<string[]> {
  const { stdout } = await run(dump.bin, ['--schema-only', '--exclude-schema=zdm', '--dbname', url], {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PGOPTIONS: '' },
  });
  return pgDumpStatements(stdout);
}

/** Splits pg_dump output into comparable lines (see pgDumpLines). Exported for its unit test. */
export function pgDumpStatements(text: string): string[] {
  const out: string[] = [];
  let statement: string[] = [];
  let inDollar: string | null = null;
  for (const line of text.split('\n')) {
    if (statement.length === 0) {
      if (line.trim() === '' || line.startsWith('--') || line.startsWith('\\')) continue;
      if (/^SET /.test(line) || /^SELECT pg_catalog\.set_config\(/.test(line)) continue;
    }
    statement.push(line);
    for (const m of line.matchAll(/\$[A-Za-z_]*\$/g)) {
      if (inDollar === null) inDollar = m[0];
      else if (m[0] === inDollar) inDollar = null;
    }
    if (inDollar === null && line.trimEnd().endsWith(';')) {
      out.push(...statementLines(statement));
      statement = [];
    }
  }
  if (statement.length > 0) out.push(...statementLines(statement));
  return out.sort();
}

function statementLines(lines: readonly string[]): string[] {
  const head = lines[0]!.trim();
  if (lines.length > 2 && /^CREATE (UNLOGGED )?(TABLE|FOREIGN TABLE|TYPE) .*\($/.test(head)) {
    const body = lines.slice(1);
    const close = body.findIndex((l) => /^\)/.test(l));
    if (close > 0) {
      return [
        ...body.slice(0, close).map((l) => `${head}… ${l.trim().replace(/,$/, '')} …)`),
        sortedOptions(`${head}…${oneLine(body.slice(close))}`),
      ];
    }
  }
  return [sortedOptions(oneLine(lines))];
}

const oneLine = (lines: readonly string[]): string => lines.join(' ').replace(/\s+/g, ' ').trim();

/**
 * Storage parameters in `WITH (a=1, b='x')` sorted: pg_dump prints them in the order they were
 * given, which is no difference.
 */
function sortedOptions(line: string): string {
  return line.replace(/ WITH \(((?:[a-z_]+=(?:'[^']*'|[^,()' ]*)(?:, )?)+)\)/g, (_, list: string) => {
    return ` WITH (${list.split(', ').sort().join(', ')})`;
  });
}
