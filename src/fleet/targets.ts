/**
 * The targets file: the databases of a fleet (YAML, `schemas/targets.schema.json`). Parsed with
 * positions like the desired state, validated against its JSON Schema, then checked: exactly one of
 * `url` and `env` per target, no password in a URL, unique names, every `env` variable set. Every
 * problem is reported at once at its `file:line:column`, and nothing connects before the file is
 * clean.
 *
 *   version: 1
 *   targets:
 *     - name: tenant-001
 *       url: postgresql://zdm@tenant-001.db.internal/shop
 *       groups: [canary, eu]
 *     - env: TENANT_002_DATABASE_URL
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { newAjv } from '../desired/ajv.js';
import { type DesiredIssue, formatIssue } from '../desired/errors.js';
import { validateWith } from '../desired/validate.js';
import { parseYaml } from '../desired/yaml-doc.js';
import { FileError, InputError } from '../errors.js';
import { formatPath, type PathSegment } from '../model/paths.js';

/** Absolute path of the JSON Schema of the targets file (shipped in the package's `schemas/`). */
export const TARGETS_SCHEMA_PATH = fileURLToPath(new URL('../../schemas/targets.schema.json', import.meta.url));

/** One database of the fleet, its URL resolved. */
export interface FleetTarget {
  readonly name: string;
  readonly groups: readonly string[];
  /** The connection URL (from the file, or the value of `env`: only the latter may carry a password). */
  readonly url: string;
  /** `url`: written in the file; else the environment variable it was read from. */
  readonly from: { readonly url: true } | { readonly env: string };
  /** Where the target is written: `targets.yaml:4:5`. */
  readonly at: string;
}

export interface TargetsFile {
  readonly file: string;
  /** In the order of the file. */
  readonly targets: readonly FleetTarget[];
}

/** The targets file cannot be used: every problem, each at its place in the YAML. */
export class TargetsFileError extends InputError {
  override readonly name = 'TargetsFileError';
  constructor(readonly issues: readonly DesiredIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
    const head = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
    super(`invalid targets file (${head}):\n${sorted.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.issues = sorted;
  }
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = newAjv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
    compiled = ajv.compile(JSON.parse(readFileSync(TARGETS_SCHEMA_PATH, 'utf8')) as object);
  }
  return compiled;
}

interface RawTarget {
  readonly name?: string;
  readonly url?: string;
  readonly env?: string;
  readonly groups?: readonly string[];
}

/** Reads and checks a targets file. @throws FileError, TargetsFileError */
export async function loadTargetsFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<TargetsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw FileError.from('cannot read targets file', file, cause);
  }
  return parseTargets(text, file, env);
}

/** Parses a targets file held in memory (`file` names it in messages). Pure but for `env`. */
export function parseTargets(text: string, file: string, env: NodeJS.ProcessEnv = process.env): TargetsFile {
  const parsed = parseYaml(text, file);
  if (!parsed.document) throw new TargetsFileError(parsed.issues);
  const doc = parsed.document;
  const structural = [
    ...parsed.issues,
    ...validateWith(
      doc,
      validator(),
      'the file is empty: a targets file starts with `version: 1` and lists `targets:`',
    ),
  ];
  if (structural.length > 0) throw new TargetsFileError(structural);

  const issues: DesiredIssue[] = [];
  const at = (segments: readonly PathSegment[], message: string): void => {
    const p = doc.valuePosition(segments);
    issues.push({ file, line: p.line, column: p.column, path: formatPath(segments), message });
  };
  const raws = (doc.value as { targets: RawTarget[] }).targets;
  const targets: FleetTarget[] = [];
  const byName = new Map<string, number>();
  raws.forEach((raw, i) => {
    const here: PathSegment[] = ['targets', i];
    const name = raw.name ?? defaultName(raw);
    const first = name === undefined ? undefined : byName.get(name);
    if (name !== undefined && first !== undefined) {
      const p = doc.keyPosition(['targets', first]);
      at(
        raw.name !== undefined ? [...here, 'name'] : here,
        `the name ${JSON.stringify(name)} is already taken by the target at line ${p.line}` +
          (raw.name === undefined ? ' (names default to the database name: give each a `name`)' : ''),
      );
    } else if (name !== undefined) byName.set(name, i);
    if ((raw.url === undefined) === (raw.env === undefined)) {
      at(
        here,
        raw.url === undefined
          ? 'a target needs `url` (a postgresql:// URL without a password) or `env` (the name of a variable holding its URL)'
          : 'a target has `url` or `env`, not both',
      );
      return;
    }
    let url: string | undefined;
    if (raw.url !== undefined) {
      const problem = urlProblem(raw.url);
      if (problem) at([...here, 'url'], problem);
      else url = raw.url;
    } else {
      const value = env[raw.env!];
      if (value === undefined || value === '') {
        at([...here, 'env'], `the environment variable ${raw.env} is not set (it should hold the target's URL)`);
      } else url = value;
    }
    if (url === undefined) return;
    if (name === undefined) {
      at(here, 'the URL names no database: give the target a `name`');
      return;
    }
    const p = doc.keyPosition(here);
    targets.push({
      name,
      groups: [...new Set(raw.groups ?? [])],
      url,
      from: raw.url !== undefined ? { url: true } : { env: raw.env! },
      at: `${file}:${p.line}:${p.column}`,
    });
  });
  if (issues.length > 0) throw new TargetsFileError(issues);
  return { file, targets };
}

/** Why a URL written in the targets file cannot be used, if it cannot. */
export function urlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  const hasPassword = u.password !== '' || [...u.searchParams.keys()].some((k) => k.toLowerCase() === 'password');
  if (hasPassword) {
    return (
      'the URL carries a password, and a targets file is committed and shared: remove it and put it in ' +
      '~/.pgpass or PGPASSWORD, or give the whole URL through an environment variable with `env: NAME`'
    );
  }
  return undefined;
}

function defaultName(raw: RawTarget): string | undefined {
  if (raw.env !== undefined) return raw.env;
  if (raw.url === undefined) return undefined;
  try {
    const db = decodeURIComponent(new URL(raw.url).pathname.replace(/^\//, ''));
    return db === '' ? undefined : db;
  } catch {
    return undefined;
  }
}
