import { InputError } from '../errors.js';

/** One problem found in a desired-state file, located at the YAML node it is about. */
export interface DesiredIssue {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Document path such as `schemas.public.tables.orders.columns.amount.type`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

export function formatIssue(issue: DesiredIssue): string {
  // Issues of later stages (planning) may concern an object with no place in the YAML (a drop).
  const where = issue.file === '' ? '' : `${issue.file}:${issue.line}:${issue.column}: `;
  return issue.path === '' ? `${where}${issue.message}` : `${where}${issue.path}: ${issue.message}`;
}

export function compareIssues(a: DesiredIssue, b: DesiredIssue): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** The desired state cannot be loaded: every problem found, each with its place in the YAML. */
export class DesiredStateError extends InputError {
  override readonly name = 'DesiredStateError';
  readonly issues: readonly DesiredIssue[];

  constructor(issues: readonly DesiredIssue[], options?: ErrorOptions) {
    const sorted = [...issues].sort(compareIssues);
    const head = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
    super(`invalid desired state (${head}):\n${sorted.map((i) => `  ${formatIssue(i)}`).join('\n')}`, options);
    this.issues = sorted;
  }
}
