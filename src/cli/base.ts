import { Command } from '@oclif/core/command';
import * as Errors from '@oclif/core/errors';
import * as Flags from '@oclif/core/flags';
import { debugEnabled, reportError } from './errors.js';

/** Flags every command that talks to a database takes. */
export const databaseUrlFlag = Flags.string({
  char: 'd',
  summary: 'PostgreSQL connection URL. Default: DATABASE_URL, else the PG* variables (PGHOST, PGUSER, …).',
  description:
    'Example: postgresql://app@db.internal:5432/shop?sslmode=verify-full. TLS follows sslmode in the URL. ' +
    'The password is never printed.',
  helpGroup: 'DATABASE',
});

/** What `--verbose` adds on every command (apply and status say more with it as well). */
export const VERBOSE_ERRORS = 'On an error, print its stack trace (as DEBUG=zdm does).';

/**
 * Shared error handling: every error goes through `reportError` (src/cli/errors.ts), which gives
 * its exit code and the text to print; the stack trace only with `--verbose` or `DEBUG=zdm`.
 *
 * Start-up time: a command module is imported on every run of that command (and, when
 * oclif.manifest.json is missing, every command module on every run). So command modules import
 * only oclif and light modules at the top, and load the heavy ones (pg, ajv, the planner, the apply
 * engine) with `await import()` inside `run()`.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    verbose: Flags.boolean({ char: 'v', summary: VERBOSE_ERRORS, helpGroup: 'GLOBAL' }),
  };

  protected override async catch(err: Error): Promise<never> {
    // this.exit() throws an ExitError: it is the exit, not an error.
    if (err instanceof Errors.ExitError) throw err;
    const { exitCode, text } = reportError(err, {
      debug: verboseIn(this.argv) || debugEnabled(process.env.DEBUG),
      help: `${this.config.bin} ${this.id ?? ''} --help`,
    });
    // Not logToStderr: it prints nothing under --json, and an error must be seen.
    process.stderr.write(`${text}\n`);
    return this.exit(exitCode);
  }
}

/** `--verbose` / `-v` among the arguments (before `--`): read from argv, so it counts even when parsing failed. */
function verboseIn(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--verbose' || a === '-v');
}
