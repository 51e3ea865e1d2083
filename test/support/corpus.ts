/**
 * The corpus of real schemas beside the project (`../shared/corpus`, or `ZDM_CORPUS_DIR`). It is not
 * part of the repository: tests that use it skip, saying why, when it is absent.
 *
 *   for (const entry of listCorpus()) { … }
 *   const missing = await missingExtensions(db, entry);      // [] when the server has them all
 *   const { errors } = await loadCorpus(db, entry.name);
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from './db.js';
import { runSqlScript, type ScriptResult } from './sql-script.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function corpusDir(): string {
  return process.env.ZDM_CORPUS_DIR
    ? path.resolve(process.env.ZDM_CORPUS_DIR)
    : path.resolve(projectRoot, '..', 'shared', 'corpus');
}

export interface CorpusExtension {
  readonly name: string;
  /** `WITH SCHEMA …` of the CREATE EXTENSION, when given. */
  readonly schema?: string;
}

export interface CorpusEntry {
  /** File name without `.sql`, e.g. `musicbrainz`. */
  readonly name: string;
  readonly file: string;
  readonly extensions: readonly CorpusExtension[];
  /** Schemas the file creates itself (`CREATE SCHEMA x`). */
  readonly createsSchemas: readonly string[];
}

const IDENT = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const CREATE_EXTENSION = new RegExp(
  `^\\s*CREATE\\s+EXTENSION\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${IDENT}(?:\\s+WITH)?(?:\\s+SCHEMA\\s+${IDENT})?`,
  'i',
);
const CREATE_SCHEMA = new RegExp(`^\\s*CREATE\\s+SCHEMA\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${IDENT}`, 'i');

/** An identifier as PostgreSQL stores it: quotes removed, unquoted names folded to lower case. */
function identName(raw: string): string {
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
}

export function parseCorpusFile(name: string, file: string, text: string): CorpusEntry {
  const extensions: CorpusExtension[] = [];
  const createsSchemas: string[] = [];
  for (const line of text.split('\n')) {
    const ext = CREATE_EXTENSION.exec(line);
    if (ext) {
      extensions.push({ name: identName(ext[1]!), ...(ext[2] ? { schema: identName(ext[2]) } : {}) });
      continue;
    }
    const schema = CREATE_SCHEMA.exec(line);
    if (schema) createsSchemas.push(identName(schema[1]!));
  }
  return { name, file, extensions, createsSchemas };
}

/** The corpus files, sorted by name; empty when the folder is absent. */
export function listCorpus(): CorpusEntry[] {
  const dir = corpusDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      return parseCorpusFile(f.slice(0, -4), file, readFileSync(file, 'utf8'));
    });
}

/** Why the corpus cannot be used, or null when it can. */
export function corpusUnavailableReason(): string | null {
  const dir = corpusDir();
  if (!existsSync(dir)) return `corpus folder ${dir} not found (set ZDM_CORPUS_DIR to use one elsewhere)`;
  if (listCorpus().length === 0) return `no .sql files in corpus folder ${dir}`;
  return null;
}

/** Extensions the file needs that the server cannot install. */
export async function missingExtensions(db: TestDatabase, entry: CorpusEntry): Promise<string[]> {
  if (entry.extensions.length === 0) return [];
  const rows = await db.query<{ name: string }>(
    'SELECT name FROM pg_catalog.pg_available_extensions WHERE name = ANY ($1::pg_catalog.text[])',
    [entry.extensions.map((e) => e.name)],
  );
  const available = new Set(rows.map((r) => r.name));
  return entry.extensions.map((e) => e.name).filter((n) => !available.has(n));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Loads corpus file `name` into `db`: creates the schemas its extensions go into (unless the file
 * does), turns off function body checks (evaka's functions reference objects created later), and
 * runs the file psql-style, collecting failing statements.
 */
export async function loadCorpus(db: TestDatabase, name: string): Promise<ScriptResult> {
  const entry = listCorpus().find((e) => e.name === name);
  if (!entry) throw new Error(`corpus file ${name}.sql not found in ${corpusDir()}`);
  const created = new Set(entry.createsSchemas);
  for (const ext of entry.extensions) {
    if (ext.schema && !created.has(ext.schema)) {
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(ext.schema)}`);
      created.add(ext.schema);
    }
  }
  await db.exec('SET check_function_bodies = off');
  try {
    return await runSqlScript(db.client, readFileSync(entry.file, 'utf8'));
  } finally {
    // The files set search_path and other settings; leave the session as a test expects it.
    await db.exec('RESET ALL');
  }
}
