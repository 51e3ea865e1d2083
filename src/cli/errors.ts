/**
 * Exit codes, one table for every command (also in the README):
 *
 * | code | meaning |
 * |------|---------|
 * | 0 | success |
 * | 1 | invalid input: a desired-state or plan file with errors, bad flags |
 * | 2 | `zdm plan --check`: the database differs from the desired state |
 * | 3 | cannot connect to the database, or the database refused an operation |
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
