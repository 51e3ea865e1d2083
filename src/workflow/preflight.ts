/**
 * The data preflight of `zdm plan`: runs the checks of src/plan/preflight.ts on the live database,
 * each in a READ ONLY transaction under a statement timeout taken from one time budget for the whole
 * preflight, and a short lock timeout (a check reads under ACCESS SHARE, which waits only behind an
 * ACCESS EXCLUSIVE lock held or queued on the table).
 *
 * Violations stop the plan (PreflightError, exit 1: nothing is written). A check that did not finish
 * within the budget, or failed for another reason, is not skipped silently: the steps it guards get
 * the `data-unchecked` hazard and a warning says why.
 */
import type { Queryable } from '../db/connection.js';
import { InputError } from '../errors.js';
import { type DataCheck, describeRow } from '../plan/preflight.js';
import { FINDER_SQLSTATE } from '../sql/preflight.js';
import { setLocalSql } from '../sql/session.js';

/** Default time budget of the whole preflight. */
export const DEFAULT_PREFLIGHT_BUDGET_MS = 60_000;
/** Lock timeout of each check's ACCESS SHARE lock. */
const LOCK_TIMEOUT_MS = 2_000;

export type CheckOutcome =
  | { readonly check: DataCheck; readonly status: 'passed' }
  | { readonly check: DataCheck; readonly status: 'violated'; readonly count: number; readonly rows: readonly string[] }
  /** `reason`: why it could not be checked; `notApplicable`: it reads a column or table the plan creates. */
  | {
      readonly check: DataCheck;
      readonly status: 'unchecked';
      readonly reason: string;
      readonly notApplicable: boolean;
    };

/** Existing rows would make the plan fail. Exit 1; nothing was written. */
export class PreflightError extends InputError {
  override readonly name = 'PreflightError';
  constructor(readonly violations: readonly Extract<CheckOutcome, { status: 'violated' }>[]) {
    super(preflightMessage(violations));
  }
}

function preflightMessage(violations: readonly Extract<CheckOutcome, { status: 'violated' }>[]): string {
  const lines = ['the live data would make the plan fail (no plan was written):'];
  for (const v of violations) {
    lines.push(`  ${v.check.object}: ${v.count} ${v.check.violation}`);
    for (const r of v.rows) lines.push(`    ${describeRow(r)}`);
    if (v.count > v.rows.length) lines.push(`    … and ${v.count - v.rows.length} more`);
    lines.push(`    what to do: ${v.check.fix}`);
  }
  return lines.join('\n');
}

interface PgError {
  readonly code?: string;
  readonly message?: string;
  readonly detail?: string;
}

const NOT_APPLICABLE = new Set(['42703', '42P01', '42883']); // undefined column, table, function
const isDataError = (code: string | undefined) => code !== undefined && (code.startsWith('22') || code === '23502');

/** Runs `checks` in order within `budgetMs` in all. */
export async function runPreflight(
  client: Queryable,
  checks: readonly DataCheck[],
  options: { readonly budgetMs: number; readonly now?: () => number },
): Promise<CheckOutcome[]> {
  const now = options.now ?? (() => performance.now());
  const deadline = now() + options.budgetMs;
  const out: CheckOutcome[] = [];
  for (const check of checks) {
    const left = Math.floor(deadline - now());
    if (left <= 0) {
      out.push({
        check,
        status: 'unchecked',
        reason: 'the time budget of the preflight was spent before it',
        notApplicable: false,
      });
      continue;
    }
    out.push(await runOne(client, check, left));
  }
  return out;
}

async function readOnly<T>(client: Queryable, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(setLocalSql({ statement_timeout: `${timeoutMs}ms`, lock_timeout: `${LOCK_TIMEOUT_MS}ms` }));
    return await body();
  } finally {
    await client.query('ROLLBACK');
  }
}

async function runOne(client: Queryable, check: DataCheck, timeoutMs: number): Promise<CheckOutcome> {
  try {
    if (check.kind === 'rows') {
      return await readOnly(client, timeoutMs, async () => {
        const n = Number((await client.query<{ n: string }>(check.queries.count)).rows[0]?.n ?? 0);
        if (n === 0) return { check, status: 'passed' } as const;
        const rows = (await client.query<{ row: string }>(check.queries.sample)).rows.map((r) => r.row);
        return { check, status: 'violated', count: n, rows } as const;
      });
    }
    const started = performance.now();
    try {
      await readOnly(client, timeoutMs, () => client.query(check.converts));
      return { check, status: 'passed' };
    } catch (err) {
      if (!isDataError((err as PgError).code)) throw err;
    }
    const left = Math.max(1, Math.floor(timeoutMs - (performance.now() - started)));
    try {
      await readOnly(client, left, () => client.query(check.finder));
    } catch (err) {
      const e = err as PgError;
      if (e.code !== FINDER_SQLSTATE) throw err;
      const rows = JSON.parse(e.detail ?? '[]') as string[];
      return { check, status: 'violated', count: Number(e.message), rows };
    }
    throw new Error('the conversion finder ended without its result');
  } catch (err) {
    const e = err as PgError;
    if (e.code === '57014') {
      return {
        check,
        status: 'unchecked',
        reason: `it did not finish within the time budget (${timeoutMs} ms left)`,
        notApplicable: false,
      };
    }
    if (e.code === '55P03') {
      return {
        check,
        status: 'unchecked',
        reason: 'the table is locked (ACCESS EXCLUSIVE held or queued)',
        notApplicable: false,
      };
    }
    if (e.code !== undefined) {
      return {
        check,
        status: 'unchecked',
        reason: `PostgreSQL: ${e.message ?? e.code}`,
        notApplicable: NOT_APPLICABLE.has(e.code),
      };
    }
    throw err;
  }
}
