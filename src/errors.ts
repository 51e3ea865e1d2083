/**
 * zdm's errors and the exit code each one means. Every layer throws these; the CLI maps them to an
 * exit code and one printed message in one place (src/cli/errors.ts). A leaf module: it imports
 * nothing of zdm, so the pure core can use it.
 *
 * Exit codes, one table for every command (also in the README):
 *
 * | code | kind | meaning |
 * |------|------|---------|
 * | 0 | | success |
 * | 1 | `InputError` | invalid input: a desired-state or plan file with errors, a missing or unreadable file, an edited plan, bad flags, a change zdm refuses to plan, a phase out of order, hazards not allowed, contract while the old application version still writes a renamed column |
 * | 2 | `DriftError` | the database differs from what was expected: `zdm plan --check` found a difference, or `zdm apply` found drift |
 * | 3 | `ServerError` | cannot connect, an unsupported server version, another apply is running, a lock could not be had within the retries, or a step failed |
 * | 4 | `InternalError` | internal error (a bug: please report it); also any error that is not a `ZdmError` |
 * | 130 | `ApplyError` `interrupted` | `zdm apply` stopped on Ctrl-C or SIGTERM after its current batch or step, everything done so far journaled: run it again to resume |
 *
 * `ApplyError` is a `ZdmError` whose exit code follows its `code` (src/apply/errors.ts).
 */
export const ExitCode = {
  ok: 0,
  invalidInput: 1,
  drift: 2,
  database: 3,
  internal: 4,
  interrupted: 130,
} as const;

/** The exit code of a failure: anything in the table but success. */
export type FailureExitCode = Exclude<(typeof ExitCode)[keyof typeof ExitCode], 0>;

/** Base of every error zdm throws on purpose: its exit code says what kind of failure it is. */
export abstract class ZdmError extends Error {
  abstract get exitCode(): FailureExitCode;
}

/** Bad input: a file, a flag, a plan, a change that cannot be planned. Nothing was changed. Exit 1. */
export class InputError extends ZdmError {
  override readonly name: string = 'InputError';
  get exitCode(): FailureExitCode {
    return ExitCode.invalidInput;
  }
}

/** A flag or option value that cannot be used. Exit 1. */
export class OptionError extends InputError {
  override readonly name: string = 'OptionError';
}

/**
 * A file or directory that cannot be read or written, or holds nothing to read. The message names
 * the path and the reason in one line (`cannot read plan p.yaml: no such file or directory`). Exit 1.
 */
export class FileError extends InputError {
  override readonly name: string = 'FileError';
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** `${action} ${path}: ${reason}` from a failed fs call, the fs error kept as `cause`. */
  static from(action: string, path: string, cause: unknown): FileError {
    return new FileError(path, `${action} ${path}: ${fsReason(cause)}`, { cause });
  }
}

/**
 * The reason of an fs error without the code and path Node puts around it: `ENOENT: no such file or
 * directory, stat 'x'` → `no such file or directory`.
 */
export function fsReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const m = /^E[A-Z]+: (.*?), [a-z]+(?: '.*')?$/s.exec(message);
  return m ? m[1]! : message;
}

/** The database is not in the state expected (drift, a difference found by a check). Exit 2. */
export class DriftError extends ZdmError {
  override readonly name: string = 'DriftError';
  get exitCode(): FailureExitCode {
    return ExitCode.drift;
  }
}

/** The database server cannot do what is needed: no connection, an unsupported version, a failed query. Exit 3. */
export class ServerError extends ZdmError {
  override readonly name: string = 'ServerError';
  get exitCode(): FailureExitCode {
    return ExitCode.database;
  }
}

/** A PostgreSQL version zdm does not support (before 14). Exit 3. */
export class UnsupportedServerError extends ServerError {
  override readonly name: string = 'UnsupportedServerError';
}

/**
 * Something zdm should never do or see: a bug. Thrown to add context to an unexpected error (the
 * original kept as `cause`) or for an impossible state. Exit 4.
 */
export class InternalError extends ZdmError {
  override readonly name: string = 'InternalError';
  get exitCode(): FailureExitCode {
    return ExitCode.internal;
  }
}

/** The `default` of an exhaustive `switch`: a forgotten case is a compile error, an impossible value a bug. */
export function assertNever(x: never): never {
  throw new InternalError(`unexpected value: ${JSON.stringify(x)}`);
}

/** SQLSTATE of a PostgreSQL error (node-postgres `DatabaseError.code`), if `err` is one. */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
