/**
 * How a step's run ends, the same for every kind of step: done (the step-done event, its duration)
 * or failed (the journal row marked failed, the error wrapped to name the step).
 */
import { type RunContext, stepError } from './context.js';
import type { ApplyError } from './errors.js';
import { stepFailed, stepStarting } from './journal.js';

/** Journals a step as started and emits step-start (`note` follows the summary: ` (try 2)`). */
export async function startedStep(
  ctx: RunContext,
  step: { readonly id: string; readonly summary: string },
  attempt: number,
  note = '',
): Promise<void> {
  await stepStarting(ctx.c, ctx.plan.id, ctx.phase.name, step.id);
  ctx.emit({
    type: 'step-start',
    stepId: step.id,
    summary: step.summary,
    attempt,
    message: `${step.id}: ${step.summary}${note}`,
  });
}

/**
 * The error to throw for a step that failed, after marking its journal row failed (best effort: the
 * connection may be what failed).
 */
export async function failedStep(
  ctx: RunContext,
  stepId: string,
  what: string,
  err: unknown,
  timeoutMs: number,
): Promise<ApplyError> {
  const e = stepError(stepId, what, err, timeoutMs);
  await stepFailed(ctx.c, ctx.plan.id, stepId, e.message).catch(() => {});
  return e;
}

/** Milliseconds since `t0` (performance.now()), rounded: a step's duration. */
export const elapsedMs = (t0: number): number => Math.round(performance.now() - t0);

/** Emits step-done for a step that took `durationMs`. */
export function finishedStep(
  ctx: RunContext,
  stepId: string,
  attempts: number,
  durationMs: number,
  message = `${stepId}: done in ${durationMs} ms`,
): void {
  ctx.emit({ type: 'step-done', stepId, attempts, durationMs, message });
}
