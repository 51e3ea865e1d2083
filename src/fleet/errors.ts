import { ExitCode, type FailureExitCode, ZdmError } from '../errors.js';

/**
 * A fleet run that cannot start: `refused` (exit 1) — an option that cannot be used, contract while
 * a target has not finished backfill, `--all-or-nothing` with a drifted target. Nothing was changed
 * on any target. Failures of single targets are not thrown: they are outcomes of the run.
 */
export class FleetError extends ZdmError {
  override readonly name = 'FleetError';
  constructor(
    readonly code: 'refused',
    message: string,
    readonly details: { readonly targets?: readonly string[] } = {},
  ) {
    super(message);
  }

  get exitCode(): FailureExitCode {
    return ExitCode.invalidInput;
  }
}
