/** Errors of the planning layer: small classes with a fixed `name` and readonly `issues`. */
import { InputError } from '../errors.js';

export interface PlanningIssue {
  /** The object concerned: `column public.users.name`, `table public.orders`… */
  readonly object: string;
  readonly message: string;
  /**
   * Path in the desired-state document (`schemas.public.tables.users.columns.name`), for the CLI to
   * map to file:line through the desired loader's source map.
   */
  readonly path?: string;
}

/** The desired state asks for something zdm cannot plan (yet): every such difference is listed. */
export class PlanningError extends InputError {
  override readonly name = 'PlanningError';
  constructor(readonly issues: readonly PlanningIssue[]) {
    super(
      `cannot plan this change:\n${issues.map((i) => `  - ${i.object}: ${i.message}${i.path ? ` (at ${i.path})` : ''}`).join('\n')}`,
    );
  }
}

export interface PlanFileIssue {
  /** 1-based, when the problem has a place in the file. */
  readonly line?: number;
  readonly column?: number;
  /** Path of the offending value, e.g. `phases.0.steps.2.sql` (empty for the document). */
  readonly path: string;
  readonly message: string;
}

/** A plan file that cannot be used: YAML or schema errors (located by line), or a checksum mismatch. */
export class PlanFileError extends InputError {
  override readonly name = 'PlanFileError';
  constructor(
    readonly file: string,
    readonly issues: readonly PlanFileIssue[],
  ) {
    super(
      issues
        .map((i) => {
          const where = i.line === undefined ? file : `${file}:${i.line}:${i.column ?? 1}`;
          return `${where}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`;
        })
        .join('\n'),
    );
  }
}
