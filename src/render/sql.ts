/**
 * The plan as a commented SQL script, one section per phase, for review. Steps that run outside a
 * transaction (CONCURRENTLY and the like) are marked and have no BEGIN/COMMIT; a backfill shows the
 * statement one batch runs, commented out: `zdm apply` runs it batch by batch with its key range.
 */
import { assertNever } from '../errors.js';
import type { Plan, Step } from '../plan/types.js';
import { locksText, shortFingerprint, stepCount } from './format.js';

const comment = (text: string): string =>
  text
    .split('\n')
    .map((l) => `-- ${l}`.trimEnd())
    .join('\n');

const statement = (sql: string): string => (sql.trimEnd().endsWith(';') ? sql.trimEnd() : `${sql.trimEnd()};`);

function stepSql(s: Step): string[] {
  const out = [comment(`${s.id}: ${s.summary}`), comment(`locks: ${locksText(s.locks)}`)];
  if (s.hazards.length > 0) out.push(comment(`hazards: ${s.hazards.join(', ')}`));
  switch (s.kind) {
    case 'backfill':
    case 'copy':
      out.push(comment(`batched by zdm apply: ${s.batchSize} rows per transaction, resumable; one batch runs:`));
      for (const q of s.sql) out.push(comment(statement(q)));
      return out;
    case 'verify':
      out.push('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;', ...s.sql.map(statement), 'COMMIT;');
      return out;
    case 'sql':
      if (s.transaction) out.push('BEGIN;', ...s.sql.map(statement), 'COMMIT;');
      else out.push(comment('runs outside a transaction, one statement at a time'), ...s.sql.map(statement));
      return out;
    default:
      return assertNever(s);
  }
}

export function renderSql(plan: Plan): string {
  const rule = `-- ${'='.repeat(76)}`;
  const out: string[] = [
    comment(`zdm plan ${plan.id} (zdm ${plan.zdm}, ${plan.createdAt})`),
    comment(`planned against ${plan.source.server}, schema ${shortFingerprint(plan.source.fingerprint)}`),
    comment('For review. Apply with `zdm apply PLAN --phase NAME`: it checks the schema fingerprints, runs each'),
    comment('step under lock_timeout with retries, journals progress and runs backfills in batches.'),
  ];
  for (const phase of plan.phases) {
    out.push(
      '',
      rule,
      comment(`phase ${phase.name} (${phase.steps.length === 0 ? 'nothing to do' : stepCount(phase.steps.length)})`),
      rule,
    );
    for (const s of phase.steps) out.push('', ...stepSql(s));
  }
  return `${out.join('\n')}\n`;
}
