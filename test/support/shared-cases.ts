/**
 * The convergence cases beside the project (`../shared/cases`, or `ZDM_CASES_DIR`): one folder per
 * case with `before.sql`, `after.sql` and an optional `check.sql`. They are not part of the
 * repository and may not be edited; tests that use them skip, saying why, when the folder is absent.
 * What each case is expected to do today is kept in the repository
 * (test/acceptance/shared-cases.expect.yaml, read by `loadExpectations`).
 *
 *   for (const c of listSharedCases()) { … c.before … c.after … c.check … }
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sharedCasesDir(): string {
  return process.env.ZDM_CASES_DIR
    ? path.resolve(process.env.ZDM_CASES_DIR)
    : path.resolve(projectRoot, '..', 'shared', 'cases');
}

export interface SharedCase {
  /** The folder's name, e.g. `collation_change`. */
  readonly name: string;
  readonly dir: string;
  readonly before: string;
  readonly after: string;
  /** A query that must return one row holding `true` on the migrated database. */
  readonly check?: string;
}

/** Every folder that has a before.sql and an after.sql, sorted by name; empty when the folder is absent. */
export function listSharedCases(dir: string = sharedCasesDir()): SharedCase[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => statSync(path.join(dir, f)).isDirectory())
    .filter((f) => existsSync(path.join(dir, f, 'before.sql')) && existsSync(path.join(dir, f, 'after.sql')))
    .sort()
    .map((name) => {
      const at = path.join(dir, name);
      const read = (f: string) => readFileSync(path.join(at, f), 'utf8');
      return {
        name,
        dir: at,
        before: read('before.sql'),
        after: read('after.sql'),
        ...(existsSync(path.join(at, 'check.sql')) ? { check: read('check.sql') } : {}),
      };
    });
}

/** Why the cases cannot be used, or null when they can. */
export function sharedCasesUnavailableReason(dir: string = sharedCasesDir()): string | null {
  if (!existsSync(dir)) return `cases folder ${dir} not found (set ZDM_CASES_DIR to use one elsewhere)`;
  if (listSharedCases(dir).length === 0) return `no case folder (with before.sql and after.sql) in ${dir}`;
  return null;
}

/** What a case does today on one server version. */
export type CaseStatus =
  | { readonly kind: 'converges' }
  /** zdm refuses it by design: `zdm plan` fails with a message matching `error`. */
  | { readonly kind: 'refused'; readonly error: RegExp }
  /** It does not converge yet: the issue that will make it, and why (the first difference). */
  | { readonly kind: 'known-gap'; readonly reason: string };

export interface CaseExpectation {
  readonly status: CaseStatus;
  /** Another status on one major version (`pg14: …`). */
  readonly byMajor: ReadonlyMap<number, CaseStatus>;
}

class ExpectationsError extends Error {
  override readonly name = 'ExpectationsError';
}

function parseStatus(v: unknown, where: string, allowVersions: boolean): CaseExpectation {
  if (v === 'converges') return { status: { kind: 'converges' }, byMajor: new Map() };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ExpectationsError(`${where}: expected converges, { refused: REGEX } or { known-gap: REASON }`);
  }
  const entries = Object.entries(v as Record<string, unknown>);
  const byMajor = new Map<number, CaseStatus>();
  let status: CaseStatus | undefined;
  for (const [k, x] of entries) {
    const version = /^pg(\d+)$/.exec(k);
    if (version && allowVersions) {
      byMajor.set(Number(version[1]), parseStatus(x, `${where}.${k}`, false).status);
      continue;
    }
    if (status) throw new ExpectationsError(`${where}: give one of refused and known-gap`);
    if (k === 'refused' && typeof x === 'string') {
      try {
        status = { kind: 'refused', error: new RegExp(x) };
      } catch (err) {
        throw new ExpectationsError(`${where}.refused: ${(err as Error).message}`);
      }
    } else if (k === 'known-gap' && typeof x === 'string' && x.trim() !== '') {
      status = { kind: 'known-gap', reason: x.trim() };
    } else if (k === 'converges' && x === true) {
      status = { kind: 'converges' };
    } else {
      throw new ExpectationsError(
        `${where}.${k}: expected refused: REGEX, known-gap: REASON${allowVersions ? ' or pgNN: STATUS' : ''}`,
      );
    }
  }
  return { status: status ?? { kind: 'converges' }, byMajor };
}

/**
 * The expectations file: a map from case name to `converges`, `{ refused: REGEX }` or
 * `{ known-gap: REASON }`, optionally with `pgNN: STATUS` for a version that differs. A case not
 * listed converges; a name that is not a case is an error (a stale entry).
 */
export function loadExpectations(file: string, caseNames: readonly string[]): Map<string, CaseExpectation> {
  const doc: unknown = parse(readFileSync(file, 'utf8')) ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ExpectationsError(`${file}: expected a map`);
  const out = new Map<string, CaseExpectation>();
  for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!caseNames.includes(name)) {
      throw new ExpectationsError(`${file}: ${name} is not a case folder: remove the entry`);
    }
    out.set(name, parseStatus(v, `${file}: ${name}`, true));
  }
  return out;
}

/** The status of a case on a server of this major version. */
export function statusOn(e: CaseExpectation | undefined, major: number): CaseStatus {
  if (!e) return { kind: 'converges' };
  return e.byMajor.get(major) ?? e.status;
}
