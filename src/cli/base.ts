import { Command, Errors, Flags } from '@oclif/core';
import { ExitCode, UserError } from './errors.js';

/** Flags every command that talks to a database takes. */
export const databaseUrlFlag = Flags.string({
  char: 'd',
  summary: 'PostgreSQL connection URL. Default: DATABASE_URL, else the PG* variables (PGHOST, PGUSER, …).',
  description:
    'Example: postgresql://app@db.internal:5432/shop?sslmode=verify-full. TLS follows sslmode in the URL. ' +
    'The password is never printed.',
  helpGroup: 'DATABASE',
});

/** Errors of the core about bad input (desired state, plan file, an unplannable change): exit 1. */
const INPUT_ERRORS = new Set(['DesiredStateError', 'PlanFileError', 'PlanningError']);

/**
 * Shared error handling: user-facing errors print their message (no stack) and exit with the code of
 * the exit-code table in errors.ts; anything else is a bug and exits 4 with the stack.
 *
 * Start-up time: a command module is imported on every run of that command (and, when
 * oclif.manifest.json is missing, every command module on every run). So command modules import
 * only oclif and light modules at the top, and load the heavy ones (pg, ajv, the planner, the apply
 * engine) with `await import()` inside `run()`; this file loads the connection module only when
 * there is an error to print.
 */
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // this.exit() throws an ExitError: it is the exit, not an error.
    if (err instanceof Errors.ExitError) throw err;
    const { ConnectionError, redact } = await import('../db/connection.js');
    // oclif's parse errors (unknown flag, a value not among the options…) would exit 2, which means
    // "drift" in zdm's table: they are invalid input.
    if (err.oclif !== undefined) {
      this.logToStderr(`error: ${redact(err.message)}
See: ${this.config.bin} ${this.id ?? ''} --help`);
      this.exit(ExitCode.invalidInput);
    }
    const message = redact(err.message);
    if (err instanceof UserError) {
      this.logToStderr(message);
      this.exit(err.exitCode);
    }
    if (err instanceof ConnectionError || err.name === 'ScratchError') {
      this.logToStderr(`error: ${message}`);
      this.exit(ExitCode.database);
    }
    if (INPUT_ERRORS.has(err.name)) {
      this.logToStderr(message);
      this.exit(ExitCode.invalidInput);
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      // A PostgreSQL error (SQLSTATE) that escaped the layers below.
      this.logToStderr(`error: PostgreSQL ${code}: ${message}`);
      this.exit(ExitCode.database);
    }
    this.logToStderr(`internal error (please report it): ${redact(err.stack ?? message)}`);
    this.exit(ExitCode.internal);
  }
}
