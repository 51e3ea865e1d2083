/**
 * Exit codes, one table for every command (also in the README):
 *
 * | code | meaning |
 * |------|---------|
 * | 0 | success |
 * | 1 | invalid input: a desired-state or plan file with errors, an edited plan, bad flags, a phase out of order, hazards not allowed |
 * | 2 | the database differs from what was expected: `zdm plan --check` found a difference, or `zdm apply` found drift |
 * | 3 | cannot connect, another apply is running, a lock could not be had within the retries, or a step failed |
 * | 4 | internal error (a bug: please report it) |
 */
export const ExitCode = {
  ok: 0,
  invalidInput: 1,
  drift: 2,
  database: 3,
  internal: 4,
} as const;

/** An error meant for the user: its message is printed as is, and the process exits with `exitCode`. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.invalidInput,
  ) {
    super(message);
  }
}
