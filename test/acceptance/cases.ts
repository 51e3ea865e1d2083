/**
 * Acceptance cases as data (DESIGN.md §7): one YAML file per object kind in `cases/`, each a list of
 * `{ name, before, desired, expect, … }` (see README.md next to this file for the format). This
 * module reads and checks them; test/integration/acceptance.test.ts runs them against a server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { HAZARDS, type Hazard, PHASES, type PhaseName } from '../../src/plan/types.js';

export interface ExpectedStep {
  /** Regex (unanchored) the step's summary must match. */
  readonly summary: RegExp;
  readonly kind?: 'sql' | 'backfill';
  /** Exactly these hazards, in this order. */
  readonly hazards: readonly Hazard[];
  /** Each regex must match the step's statement of the same position; the counts must agree. */
  readonly sql?: readonly RegExp[];
  /** Exactly these locks, written `MODE on schema.table (hold)`. */
  readonly locks?: readonly string[];
}

export interface AcceptanceCase {
  /** `<kind>/<name>`: the file it comes from and its name there. */
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  /** SQL run on the empty database before planning. */
  readonly before: string;
  /** The desired state, a complete YAML document (version 1). */
  readonly desired: string;
  readonly expect: Readonly<Record<PhaseName, readonly ExpectedStep[]>>;
  /** Warnings of the plan, each matched by one regex in order; none listed: the plan must have none. */
  readonly warnings: readonly RegExp[];
  readonly allowHazards: readonly Hazard[];
  /** before.sql inserts rows: the harness checks that some table really has at least 1000. */
  readonly rows: boolean;
  /** SQL returning one boolean (`true`) when the data is intact after the contract phase. */
  readonly dataCheck?: string;
  /** Run only on servers of at least (at most) this major version. */
  readonly minVersion?: number;
  readonly maxVersion?: number;
  /** Run only where these extensions are available (pg_available_extensions). */
  readonly extensions: readonly string[];
}

const CASES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');

const CASE_KEYS = new Set([
  'name',
  'before',
  'desired',
  'expect',
  'warnings',
  'allowHazards',
  'rows',
  'dataCheck',
  'minVersion',
  'maxVersion',
  'extensions',
]);
const STEP_KEYS = new Set(['summary', 'kind', 'hazards', 'sql', 'locks']);

class CaseFileError extends Error {
  override readonly name = 'CaseFileError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new CaseFileError(`${where}: expected a list of strings`);
  }
  return v as string[];
}

function hazardList(v: unknown, where: string): Hazard[] {
  const list = stringList(v, where);
  for (const h of list) {
    if (!(HAZARDS as readonly string[]).includes(h)) throw new CaseFileError(`${where}: unknown hazard ${h}`);
  }
  return list as Hazard[];
}

function parseStep(v: unknown, where: string): ExpectedStep {
  if (!isRecord(v)) throw new CaseFileError(`${where}: expected a map { summary, hazards?, kind?, sql?, locks? }`);
  for (const k of Object.keys(v)) if (!STEP_KEYS.has(k)) throw new CaseFileError(`${where}: unknown key ${k}`);
  if (typeof v.summary !== 'string') throw new CaseFileError(`${where}.summary: expected a regex string`);
  if (v.kind !== undefined && v.kind !== 'sql' && v.kind !== 'backfill') {
    throw new CaseFileError(`${where}.kind: expected sql or backfill`);
  }
  return {
    summary: new RegExp(v.summary),
    hazards: hazardList(v.hazards, `${where}.hazards`),
    ...(v.kind !== undefined ? { kind: v.kind } : {}),
    ...(v.sql !== undefined ? { sql: stringList(v.sql, `${where}.sql`).map((s) => new RegExp(s)) } : {}),
    ...(v.locks !== undefined ? { locks: stringList(v.locks, `${where}.locks`) } : {}),
  };
}

function parseCase(kind: string, v: unknown, where: string): AcceptanceCase {
  if (!isRecord(v)) throw new CaseFileError(`${where}: expected a map`);
  for (const k of Object.keys(v)) if (!CASE_KEYS.has(k)) throw new CaseFileError(`${where}: unknown key ${k}`);
  const { name, before, desired, expect } = v;
  if (typeof name !== 'string' || name === '') throw new CaseFileError(`${where}.name: expected a string`);
  const at = `${where} (${name})`;
  if (typeof before !== 'string') throw new CaseFileError(`${at}.before: expected SQL text`);
  if (typeof desired !== 'string') throw new CaseFileError(`${at}.desired: expected a YAML document as text`);
  if (!isRecord(expect)) throw new CaseFileError(`${at}.expect: expected a map of phases`);
  for (const k of Object.keys(expect)) {
    if (!(PHASES as readonly string[]).includes(k)) throw new CaseFileError(`${at}.expect: unknown phase ${k}`);
  }
  const phases = {} as Record<PhaseName, ExpectedStep[]>;
  for (const phase of PHASES) {
    const steps = expect[phase] ?? [];
    if (!Array.isArray(steps)) throw new CaseFileError(`${at}.expect.${phase}: expected a list of steps`);
    phases[phase] = steps.map((s, i) => parseStep(s, `${at}.expect.${phase}[${i}]`));
  }
  if (v.rows !== undefined && typeof v.rows !== 'boolean') throw new CaseFileError(`${at}.rows: expected a boolean`);
  if (v.dataCheck !== undefined && typeof v.dataCheck !== 'string') {
    throw new CaseFileError(`${at}.dataCheck: expected SQL text`);
  }
  for (const k of ['minVersion', 'maxVersion'] as const) {
    if (v[k] !== undefined && !Number.isInteger(v[k])) throw new CaseFileError(`${at}.${k}: expected a major version`);
  }
  return {
    id: `${kind}/${name}`,
    kind,
    name,
    before,
    desired,
    expect: phases,
    warnings: stringList(v.warnings, `${at}.warnings`).map((s) => new RegExp(s)),
    allowHazards: hazardList(v.allowHazards, `${at}.allowHazards`),
    rows: v.rows === true,
    ...(typeof v.dataCheck === 'string' ? { dataCheck: v.dataCheck } : {}),
    ...(typeof v.minVersion === 'number' ? { minVersion: v.minVersion } : {}),
    ...(typeof v.maxVersion === 'number' ? { maxVersion: v.maxVersion } : {}),
    extensions: stringList(v.extensions, `${at}.extensions`),
  };
}

/** Every case of every `cases/<kind>.yaml`, in file then list order. Case ids are unique. */
export function loadCases(dir: string = CASES_DIR): AcceptanceCase[] {
  const out: AcceptanceCase[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const kind = file.replace(/\.yaml$/, '');
    let doc: unknown;
    try {
      doc = parse(readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      throw new CaseFileError(`${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(doc)) throw new CaseFileError(`${file}: expected a list of cases`);
    doc.forEach((c, i) => {
      out.push(parseCase(kind, c, `${file}[${i}]`));
    });
  }
  const seen = new Set<string>();
  for (const c of out) {
    if (seen.has(c.id)) throw new CaseFileError(`duplicate case ${c.id}`);
    seen.add(c.id);
  }
  return out;
}
