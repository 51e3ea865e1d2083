/**
 * The execution engine behind `zdm apply` and `zdm status`: journal, advisory lock, lock timeouts
 * with retries, the backfill engine. The CLI renders events and maps `ApplyError.code` to exit codes.
 */
export {
  applyPhase,
  applyPlan,
  type ExpectedFingerprints,
  type LiveSchema,
  liveSchema,
  type PlanApplyResult,
} from './apply.js';
export { DEFAULTS } from './context.js';
export { ApplyError, type ApplyErrorCode, type ApplyErrorDetails, type LockHolder } from './errors.js';
export type { BlockerAction, GuardEvent, SideConnection } from './guard.js';
export { JOURNAL_VERSION } from './journal.js';
export { ADVISORY_KEY, type Blocker } from './locks.js';
export { OLD_WRITES_QUIET_MS, type OldWritesStatus } from './old-writes.js';
export {
  type BackfillStatusReport,
  type PhaseStatusReport,
  type PlanStatusReport,
  planStatus,
  type StatusReport,
  type StepStatusReport,
} from './status.js';
export type {
  ApplyEvent,
  ApplyOptions,
  ApplyResult,
  ApplyTestHooks,
  BackfillStrategy,
  StepOutcome,
} from './types.js';
