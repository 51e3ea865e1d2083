/**
 * How table lock modes relate (PostgreSQL's "Explicit Locking", table 13.2). LOCK_MODES
 * (src/plan/types.ts, part of the plan file's shape) lists the modes weakest first; their strength,
 * their conflicts and their names in pg_locks are derived from it here.
 */
import { LOCK_MODES, type LockMode } from './types.js';

/**
 * The conflict table as the documentation prints it: rows and columns in LOCK_MODES order, `X`
 * where the row's mode conflicts with the column's.
 */
const CONFLICT_TABLE: Readonly<Record<LockMode, string>> = {
  'ACCESS SHARE': '.......X',
  'ROW SHARE': '......XX',
  'ROW EXCLUSIVE': '....XXXX',
  'SHARE UPDATE EXCLUSIVE': '...XXXXX',
  SHARE: '..XX.XXX',
  'SHARE ROW EXCLUSIVE': '..XXXXXX',
  EXCLUSIVE: '.XXXXXXX',
  'ACCESS EXCLUSIVE': 'XXXXXXXX',
};

const byMode = <T>(f: (mode: LockMode) => T): Readonly<Record<LockMode, T>> =>
  Object.fromEntries(LOCK_MODES.map((m) => [m, f(m)])) as Record<LockMode, T>;

/** The modes each mode conflicts with, weakest first. */
export const CONFLICTS: Readonly<Record<LockMode, readonly LockMode[]>> = byMode((mode) =>
  LOCK_MODES.filter((_, i) => CONFLICT_TABLE[mode][i] === 'X'),
);

/** pg_locks spells modes `AccessExclusiveLock`; plans and messages `ACCESS EXCLUSIVE`. */
export const PG_LOCK_NAME: Readonly<Record<LockMode, string>> = byMode(
  (mode) =>
    `${mode
      .toLowerCase()
      .split(' ')
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join('')}Lock`,
);

/** The stronger of two modes (the later in LOCK_MODES). */
export function strongerMode(a: LockMode, b: LockMode): LockMode {
  return LOCK_MODES.indexOf(a) >= LOCK_MODES.indexOf(b) ? a : b;
}

/**
 * Whether holding `declared` says all there is to say about holding `taken`: every mode `taken`
 * conflicts with, `declared` conflicts with too, so `taken` blocks no session `declared` lets
 * through. SHARE does not cover SHARE UPDATE EXCLUSIVE (which conflicts with itself), nor ROW
 * EXCLUSIVE: the strength order of LOCK_MODES is not enough to compare two modes.
 */
export function coversMode(declared: LockMode, taken: LockMode): boolean {
  return CONFLICTS[taken].every((m) => CONFLICTS[declared].includes(m));
}
