/**
 * The contract gate: while a column rename is between expand and contract, the sync trigger notes
 * the last write of the old application version (src/sql/old-writes.ts). Contract drops the old
 * column; an old version still running would then fail on every write of it. So `zdm apply --phase
 * contract` refuses, before it changes anything, while that version wrote within the quiet period,
 * naming the table, the column and the time of the last write; `--force` overrides.
 *
 * The default quiet period is one hour (OLD_WRITES_QUIET_MS): a rolling deploy that stalled, one
 * forgotten instance or an hourly job of the old version writes within it; the cost of waiting is
 * only time (contract is never urgent), the cost of contracting too early is failed writes.
 */
import type { Queryable } from '../db/connection.js';
import type { OldWritesGate, Phase, Plan } from '../plan/types.js';
import { LAST_OLD_WRITES_SQL } from '../sql/old-writes.js';
import { rel } from '../sql/quote.js';
import { ApplyError } from './errors.js';
import type { PlanJournal } from './journal.js';
import { formatAge } from './timing.js';
import type { ApplyEvent } from './types.js';

/** One hour: see the module comment. */
export const OLD_WRITES_QUIET_MS = 3_600_000;

/** What the tracking says of one renamed column. */
export interface OldWritesStatus {
  readonly planId: string;
  /** The contract step that ends the column. */
  readonly stepId: string;
  /** `schema.table` */
  readonly table: string;
  readonly column: string;
  readonly newColumn: string;
  /** False once the tracking is gone (its contract ran, or it was rolled back). */
  readonly tracked: boolean;
  /** ISO time of the second of the last old-version write; null: none seen since expand. */
  readonly lastWriteAt: string | null;
  /** Seconds since the end of that second (server clock); null with lastWriteAt. */
  readonly ageSeconds: number | null;
}

/** The contract steps of a plan that end a renamed column, each with its gate. */
export function oldWritesGates(plan: Plan): { readonly stepId: string; readonly gate: OldWritesGate }[] {
  const out: { stepId: string; gate: OldWritesGate }[] = [];
  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      if (step.kind === 'sql' && step.oldWrites !== undefined) out.push({ stepId: step.id, gate: step.oldWrites });
    }
  }
  return out;
}

/** Reads the tracking of each gate (one query). */
export async function readOldWrites(
  c: Queryable,
  planId: string,
  gates: readonly { readonly stepId: string; readonly gate: OldWritesGate }[],
): Promise<OldWritesStatus[]> {
  if (gates.length === 0) return [];
  const names = gates.map((g) => rel(g.gate.sequence));
  const r = await c.query<{ name: string; exists: boolean; last_write: Date | null; age_s: number | null }>(
    LAST_OLD_WRITES_SQL,
    [names],
  );
  const byName = new Map(r.rows.map((x) => [x.name, x]));
  return gates.map(({ stepId, gate }, i) => {
    const row = byName.get(names[i]!);
    const last = row?.last_write ?? null;
    return {
      planId,
      stepId,
      table: `${gate.table.schema}.${gate.table.name}`,
      column: gate.column,
      newColumn: gate.newColumn,
      tracked: row?.exists === true,
      lastWriteAt: last === null ? null : new Date(last).toISOString(),
      ageSeconds: last === null || row?.age_s == null ? null : Math.max(0, Number(row.age_s)),
    };
  });
}

/**
 * Before contract: refuses (ApplyError `old-writes`, exit 1, nothing changed) while the old
 * application version wrote a column this phase ends within `quietMs`. Steps already done and
 * tracking already gone are left out; `quietMs` 0 turns the gate off; `force` reports and goes on.
 */
export async function checkOldWrites(
  c: Queryable,
  plan: Plan,
  phase: Phase,
  journal: PlanJournal | null,
  o: { readonly quietMs: number; readonly force: boolean; readonly emit: (e: ApplyEvent) => void },
): Promise<void> {
  if (phase.name !== 'contract' || o.quietMs <= 0) return;
  const pending = oldWritesGates({ ...plan, phases: [phase] }).filter(
    (g) => journal?.steps.get(g.stepId)?.status !== 'done',
  );
  if (pending.length === 0) return;
  const seen = (await readOldWrites(c, plan.id, pending)).filter((x) => x.tracked);
  const quietS = o.quietMs / 1000;
  const recent = seen.filter((x) => x.ageSeconds !== null && x.ageSeconds < quietS);
  const describe = (x: OldWritesStatus): string =>
    `${x.table}.${x.column} (renamed to ${x.newColumn}) at ${x.lastWriteAt} (${formatAge(x.ageSeconds!)} ago)`;
  if (recent.length === 0) {
    o.emit({
      type: 'check',
      check: 'old-writes',
      message:
        `contract: the old application version has not written ${seen.map((x) => `${x.table}.${x.column}`).join(', ')} ` +
        `within ${formatAge(quietS)}` +
        seen
          .filter((x) => x.lastWriteAt !== null)
          .map((x) => `; last ${x.lastWriteAt}`)
          .join(''),
    });
    return;
  }
  if (o.force) {
    o.emit({
      type: 'warning',
      message: `--force: contract runs although the old application version wrote ${recent.map(describe).join(', ')}`,
    });
    return;
  }
  throw new ApplyError(
    'old-writes',
    `contract refused: the old application version still writes: it wrote ${recent.map(describe).join(', ')}, ` +
      `within --old-writes-quiet ${formatAge(quietS)}. Contract drops the old column, and every write of it ` +
      'would then fail. Finish deploying the new version, then run contract again once the old one has been quiet ' +
      'that long (`zdm status` shows the last write), or pass --force. Nothing was changed.',
    { oldWrites: recent },
  );
}
