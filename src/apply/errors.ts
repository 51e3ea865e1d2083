import { ExitCode, type FailureExitCode, ZdmError } from '../errors.js';
import type { ObjectDifference } from '../model/objects.js';
import type { Hazard } from '../plan/types.js';
import type { OldWritesStatus } from './old-writes.js';

export { messageOf, sqlStateOf } from '../errors.js';

/**
 * Why an apply (or a rollback) stopped; the exit code follows from the code (`EXIT_CODES`).
 *
 * | code | meaning | changed anything? | exit |
 * |---|---|---|---|
 * | `invalid-plan` | the plan is malformed or has no such phase, or an option is invalid | no | 1 |
 * | `checksum` | the plan file was edited after planning, or differs from the journaled plan of the same id | no | 1 |
 * | `hazards` | steps carry hazards that were not allowed (`--allow-hazards`) | no | 1 |
 * | `phase-order` | an earlier phase of the plan is not complete (rollback: contract has started, or a step has no inverse) | no | 1 |
 * | `old-writes` | contract would drop a renamed column the old application version wrote within `--old-writes-quiet` (src/apply/old-writes.ts) | no | 1 |
 * | `drift` | the live schema is not the one the plan expects | no | 2 |
 * | `locked` | another zdm apply holds the advisory lock on this database | no | 3 |
 * | `journal` | the journal in schema `zdm` is from a newer zdm, or unreadable | no | 3 |
 * | `lock-timeout` | a step could not get its lock within the retry budget; the step was rolled back | earlier steps only | 3 |
 * | `step-failed` | a step's SQL failed; a transactional step was rolled back | earlier steps only | 3 |
 * | `post-check` | every step ran, but the live schema differs from the plan's expected result | yes | 3 |
 * | `interrupted` | stopped on request (Ctrl-C, SIGTERM) after the current batch or step; the journal has everything done | earlier steps and batches only | 130 |
 */
export type ApplyErrorCode =
  | 'invalid-plan'
  | 'checksum'
  | 'hazards'
  | 'phase-order'
  | 'old-writes'
  | 'drift'
  | 'locked'
  | 'journal'
  | 'lock-timeout'
  | 'step-failed'
  | 'post-check'
  | 'interrupted';

/** A session holding a lock another session waits for, read from pg_locks and pg_stat_activity. */
export interface LockHolder {
  readonly pid: number;
  /** `AccessShareLock`, … as pg_locks names it. */
  readonly mode: string;
  /** `schema.name` of the locked relation (absent for advisory locks). */
  readonly relation?: string;
  /** pg_stat_activity.state: `active`, `idle in transaction`, … */
  readonly state?: string;
  /** Start of the holder's transaction (ISO), else of its session. */
  readonly since?: string;
  readonly applicationName?: string;
  /** The holder's current or last statement, shortened. */
  readonly query?: string;
}

export interface ApplyErrorDetails {
  readonly stepId?: string;
  /** SQLSTATE of the PostgreSQL error behind a `step-failed` or `lock-timeout`. */
  readonly sqlState?: string;
  /** `drift`, `post-check`: the objects that differ. */
  readonly objects?: readonly ObjectDifference[];
  /** `drift`, `post-check`: the fingerprint expected and the live one. */
  readonly expectedFingerprint?: string;
  readonly actualFingerprint?: string;
  /** `hazards`: every offending step and hazard. */
  readonly hazards?: readonly { readonly stepId: string; readonly hazard: Hazard }[];
  /** `hazards`: the exact flag that allows every hazard of the phase's pending steps. */
  readonly allowHazardsFlag?: string;
  /** `lock-timeout`, `locked`: who held the lock. */
  readonly holders?: readonly LockHolder[];
  /** `lock-timeout`: tries made. */
  readonly attempts?: number;
  /** `phase-order`: the earlier phases that are not complete. */
  readonly incompletePhases?: readonly string[];
  /** `old-writes`: the columns the old application version wrote within the quiet period. */
  readonly oldWrites?: readonly OldWritesStatus[];
}

/** The exit code of each ApplyError code (README "Exit codes"). */
const EXIT_CODES: Readonly<Record<ApplyErrorCode, FailureExitCode>> = {
  'invalid-plan': ExitCode.invalidInput,
  checksum: ExitCode.invalidInput,
  hazards: ExitCode.invalidInput,
  'phase-order': ExitCode.invalidInput,
  'old-writes': ExitCode.invalidInput,
  drift: ExitCode.drift,
  locked: ExitCode.database,
  journal: ExitCode.database,
  'lock-timeout': ExitCode.database,
  'step-failed': ExitCode.database,
  'post-check': ExitCode.database,
  interrupted: ExitCode.interrupted,
};

export class ApplyError extends ZdmError {
  override readonly name = 'ApplyError';
  constructor(
    readonly code: ApplyErrorCode,
    message: string,
    readonly details: ApplyErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): FailureExitCode {
    return EXIT_CODES[this.code];
  }
}
