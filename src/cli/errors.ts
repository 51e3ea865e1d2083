/**
 * The one place an error becomes an exit code and the text printed on stderr, for every command.
 * The exit-code table is in src/errors.ts (and the README): each `ZdmError` carries its code.
 */
import * as Errors from '@oclif/core/errors';
import { redact } from '../db/redact.js';
import { ExitCode, type FailureExitCode, sqlStateOf, ZdmError } from '../errors.js';

export { ExitCode } from '../errors.js';

export interface ErrorReport {
  readonly exitCode: FailureExitCode;
  /** What to print on stderr, passwords redacted. */
  readonly text: string;
}

export interface ReportOptions {
  /** Add the stack trace of the error and of every `cause` (`DEBUG=zdm`, `--verbose`). */
  readonly debug: boolean;
  /** Where a bad command line gets help: `zdm apply --help`. */
  readonly help?: string;
}

export const INTERNAL_ERROR = 'internal error (please report it)';
export const STACK_HINT = 'run it again with DEBUG=zdm (or --verbose) to print the stack trace for the report';

/**
 * Exit code and text of an error that ended a command. A `ZdmError` prints `error: <message>` (or
 * the internal-error line) and exits with its own code; oclif's parse errors are invalid input;
 * a PostgreSQL error that escaped the layers below is a database failure; anything else is a bug.
 * The stack only with `debug`: a user who mistyped a path needs the path, not a trace.
 */
export function reportError(err: unknown, options: ReportOptions): ErrorReport {
  const message = err instanceof Error ? err.message : String(err);
  const state = sqlStateOf(err);
  let exitCode: FailureExitCode;
  let head: string;
  if (err instanceof ZdmError) {
    exitCode = err.exitCode;
    head = exitCode === ExitCode.internal ? `${INTERNAL_ERROR}: ${message}` : `error: ${message}`;
  } else if (err instanceof Errors.CLIError) {
    // oclif's parse errors (unknown flag, a value not among the options…) would exit 2, which
    // means "drift" in zdm's table: they are invalid input.
    exitCode = ExitCode.invalidInput;
    head = `error: ${message}${options.help && !message.includes('--help') ? `\nSee: ${options.help}` : ''}`;
  } else if (state !== undefined) {
    exitCode = ExitCode.database;
    head = `error: PostgreSQL ${state}: ${message}`;
  } else {
    exitCode = ExitCode.internal;
    head = `${INTERNAL_ERROR}: ${message}`;
  }
  const tail = options.debug ? `\n${stackText(err)}` : exitCode === ExitCode.internal ? `\n${STACK_HINT}` : '';
  return { exitCode, text: redact(`${head}${tail}`) };
}

/** The stack of `err`, then of each `cause` in turn. */
export function stackText(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); ) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    parts.push(parts.length === 0 ? text : `caused by: ${text}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}

/**
 * Whether `DEBUG` (a list of names and `*` patterns, `-name` to exclude, as the `debug` package
 * reads it) selects `zdm`: `DEBUG=zdm`, `DEBUG=*`, `DEBUG=zdm,oclif:*`.
 */
export function debugEnabled(value: string | undefined): boolean {
  const names = (value ?? '').split(/[\s,]+/).filter((n) => n !== '');
  const selects = (pattern: string): boolean =>
    new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test('zdm');
  return (
    names.some((n) => !n.startsWith('-') && selects(n)) && !names.some((n) => n.startsWith('-') && selects(n.slice(1)))
  );
}
