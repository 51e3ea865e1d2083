/**
 * Facts about views and materialized views that every layer shares: the form their definitions are
 * compared in, how their options are stored, and PostgreSQL's rule for `CREATE OR REPLACE VIEW`.
 */
import type { ViewCheckOption, ViewColumn } from './types.js';

/**
 * A definition in the form the model keeps: without surrounding blanks and without the final
 * semicolon. `pg_get_viewdef` prints ` SELECT …;` (a leading blank, a final semicolon); people write
 * `SELECT …` or `SELECT …;\n` in a file. The rest is compared byte for byte: anything else that
 * differs goes through the server (see src/workflow/scratch-normalize.ts).
 */
export function viewDefinitionText(text: string): string {
  let t = text.trim();
  while (t.endsWith(';')) t = t.slice(0, -1).trimEnd();
  return t;
}

/**
 * Views zdm itself creates for the time of a plan (the old name of a renamed table, until contract)
 * carry a comment that starts with this: they are zdm's, not part of the user's schema, and
 * introspection leaves them out.
 */
export const TRANSITIONAL_COMMENT_PREFIX = 'zdm: ';

export interface ViewOptions {
  readonly securityBarrier: boolean;
  readonly securityInvoker: boolean;
  readonly checkOption?: ViewCheckOption;
}

const TRUE = new Set(['true', 'on', 'yes', '1']);

/**
 * A view's `reloptions` (`security_barrier=true`, `check_option=local`): PostgreSQL keeps a boolean
 * as it was written (`on`, `1`, `true`…), so each is read as a boolean here.
 */
export function viewOptionsFrom(options: readonly string[] | null): ViewOptions {
  const map = new Map<string, string>();
  for (const o of options ?? []) {
    const eq = o.indexOf('=');
    map.set(eq < 0 ? o : o.slice(0, eq), eq < 0 ? 'true' : o.slice(eq + 1).toLowerCase());
  }
  const check = map.get('check_option');
  return {
    securityBarrier: TRUE.has(map.get('security_barrier') ?? ''),
    securityInvoker: TRUE.has(map.get('security_invoker') ?? ''),
    ...(check === 'local' || check === 'cascaded' ? { checkOption: check } : {}),
  };
}

/**
 * Why `CREATE OR REPLACE VIEW` cannot turn a view with columns `from` into one with columns `to`
 * (PostgreSQL, checkViewColumns: the old columns must come first in the new list, with the same
 * names, types and collations; columns may only be appended), or undefined when it can. Columns
 * without a known type (a state not read from a server) cannot be judged: that is a reason too.
 */
export function notReplaceable(from: readonly ViewColumn[], to: readonly ViewColumn[]): string | undefined {
  const lost = from.filter((c) => !to.some((n) => n.name === c.name)).map((c) => c.name);
  if (lost.length > 0) return `it loses column${lost.length === 1 ? '' : 's'} ${lost.join(', ')}`;
  for (let i = 0; i < from.length; i++) {
    const a = from[i]!;
    const b = to[i];
    if (b === undefined || a.name !== b.name)
      return `its columns change order (${a.name} is no longer column ${i + 1})`;
    if (a.type === undefined || b.type === undefined) return 'the types of its columns are not known';
    if (a.type !== b.type) return `column ${a.name} changes type (${a.type} → ${b.type})`;
    if (a.collation !== b.collation) return `column ${a.name} changes collation`;
  }
  return undefined;
}
