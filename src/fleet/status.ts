/**
 * `zdm status --targets`: the fleet matrix, target × phase, read from each target's journal
 * (whichever worker or machine applied it), at most `concurrency` targets read at once.
 */
import { planStatus } from '../apply/index.js';
import type { OldWritesStatus } from '../apply/old-writes.js';
import { formatAge } from '../apply/timing.js';
import { connect } from '../db/connection.js';
import { messageOf } from '../errors.js';
import { PHASES, type PhaseName } from '../plan/types.js';
import { runPool } from './core.js';
import { connectionOf } from './run.js';
import type { FleetTarget } from './targets.js';

export type PhaseCell = 'pending' | 'in-progress' | 'done';

export interface FleetStatusRow {
  readonly name: string;
  /** The state of each phase of the plan on this target (`pending` where the plan never ran). */
  readonly phases: Readonly<Record<PhaseName, PhaseCell>>;
  /** A batched step in progress: rows done and the table's estimated rows. */
  readonly backfill?: { readonly stepId: string; readonly rowsDone: number; readonly estimatedTotal: number | null };
  /** A zdm apply holds the target's advisory lock now. */
  readonly applying: boolean;
  /**
   * The contract gate of each column the plan renames and has not contracted yet: when the old
   * application version last wrote it on this target (`zdm apply --phase contract` waits for
   * --old-writes-quiet after it). Absent when there is none.
   */
  readonly oldWrites?: readonly OldWritesStatus[];
  /** The target could not be read. */
  readonly error?: string;
}

export interface FleetStatus {
  /** The plan shown: the one asked for, else the newest plan journaled on any target. */
  readonly planId?: string;
  readonly rows: readonly FleetStatusRow[];
}

const PENDING: Readonly<Record<PhaseName, PhaseCell>> = { expand: 'pending', backfill: 'pending', contract: 'pending' };

export async function fleetStatus(
  targets: readonly FleetTarget[],
  options: { readonly planId?: string; readonly concurrency?: number } = {},
): Promise<FleetStatus> {
  const reports = new Map<string, Awaited<ReturnType<typeof planStatus>> | Error>();
  await runPool(targets, options.concurrency ?? 8, async (t) => {
    try {
      const c = await connect(connectionOf(t), 'zdm status (fleet)');
      try {
        reports.set(t.name, await planStatus(c));
      } finally {
        await c.end().catch(() => {});
      }
    } catch (err) {
      reports.set(t.name, err instanceof Error ? err : new Error(messageOf(err)));
    }
  });
  // Plan ids start with their UTC creation time: the greatest is the newest.
  const planId =
    options.planId ??
    [...reports.values()]
      .flatMap((r) => (r instanceof Error ? [] : r.plans.map((p) => p.id)))
      .sort()
      .at(-1);
  const rows = targets.map((t): FleetStatusRow => {
    const r = reports.get(t.name)!;
    if (r instanceof Error) return { name: t.name, phases: PENDING, applying: false, error: r.message };
    const p = r.plans.find((x) => x.id === planId);
    const phases = { ...PENDING };
    for (const ph of p?.phases ?? []) phases[ph.name] = ph.status;
    const b = r.backfillsInProgress.find((x) => x.planId === planId);
    const oldWrites = r.oldWrites.filter((x) => x.planId === planId);
    return {
      name: t.name,
      phases,
      applying: r.activeApply !== undefined,
      ...(oldWrites.length > 0 ? { oldWrites } : {}),
      ...(b ? { backfill: { stepId: b.stepId, rowsDone: b.rowsDone, estimatedTotal: b.estimatedTotal } } : {}),
    };
  });
  return { ...(planId ? { planId } : {}), rows };
}

/** The matrix as text: one line per target, one column per phase. */
export function renderFleetStatus(s: FleetStatus): string {
  const w = Math.max(6, ...s.rows.map((r) => r.name.length));
  const lines = [
    s.planId ? `plan ${s.planId}` : 'no plan has been applied to any target',
    `${'target'.padEnd(w)}  ${PHASES.map((p) => p.padEnd(11)).join(' ')} note`,
  ];
  for (const r of s.rows) {
    const note = r.error
      ? `cannot read: ${r.error}`
      : [
          r.applying ? 'apply running' : '',
          r.backfill
            ? `${r.backfill.stepId} ${r.backfill.rowsDone.toLocaleString('en-US')}${r.backfill.estimatedTotal !== null ? ` of ~${r.backfill.estimatedTotal.toLocaleString('en-US')}` : ''} rows`
            : '',
          ...(r.oldWrites ?? []).map(
            (w) =>
              `old version wrote ${w.table}.${w.column} ` +
              (w.lastWriteAt === null ? 'never since expand' : `${formatAge(w.ageSeconds ?? 0)} ago`),
          ),
        ]
          .filter(Boolean)
          .join(', ');
    lines.push(`${r.name.padEnd(w)}  ${PHASES.map((p) => r.phases[p].padEnd(11)).join(' ')} ${note}`.trimEnd());
  }
  return lines.join('\n');
}
