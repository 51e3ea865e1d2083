/**
 * Facts about functions, procedures and triggers that every layer shares: their identities (object
 * keys), the arguments that make a signature, PostgreSQL's defaults, its rule for `CREATE OR
 * REPLACE FUNCTION`, and the objects zdm itself installs while a plan is in flight (left out of the
 * model: they are zdm's, not the user's).
 */
import type { Routine, RoutineArgument, Trigger } from './types.js';

/**
 * The argument types that identify a routine: what PostgreSQL matches a call and `DROP FUNCTION`
 * on. A function's OUT arguments are not part of it, a procedure's are (PostgreSQL 14+).
 */
export function signatureArguments(r: Pick<Routine, 'kind' | 'arguments'>): RoutineArgument[] {
  return r.arguments.filter((a) => r.kind !== 'function' || a.mode !== 'out');
}

/** `name(integer, text)`: the identity of a routine within its schema, types as `format_type` prints them. */
export function routineSignature(r: Pick<Routine, 'kind' | 'name' | 'arguments'>): string {
  return `${r.name}(${signatureArguments(r)
    .map((a) => a.type)
    .join(', ')})`;
}

/** `function public.f(integer)` / `procedure public.p(text)`: the object key (objects.ts, the dependency graph). */
export function routineKey(r: Pick<Routine, 'kind' | 'schema' | 'name' | 'arguments'>): string {
  return `${r.kind} ${r.schema}.${routineSignature(r)}`;
}

/** `trigger t on public.orders`: the object key of a trigger. */
export function triggerKey(t: Pick<Trigger, 'schema' | 'table' | 'name'>): string {
  return `trigger ${t.name} on ${t.schema}.${t.table}`;
}

/** Whether an object key names a function, procedure or aggregate. */
export function isRoutineKey(key: string): boolean {
  return key.startsWith('function ') || key.startsWith('procedure ') || key.startsWith('aggregate ');
}

/** PostgreSQL's default COST of a routine in `language`. */
export function defaultCost(language: string): number {
  return language === 'c' || language === 'internal' ? 1 : 100;
}

/** Whether a result (`pg_get_function_result`) is a set: `SETOF …` or `TABLE(…)`. */
export function returnsSet(returns: string | undefined): boolean {
  return returns !== undefined && (/^SETOF /i.test(returns) || /^TABLE\s*\(/i.test(returns));
}

/** PostgreSQL's default ROWS of a routine (1000 for a set-returning function, 0 otherwise). */
export function defaultRows(returns: string | undefined): number {
  return returnsSet(returns) ? 1000 : 0;
}

/**
 * Why `CREATE OR REPLACE FUNCTION|PROCEDURE` cannot turn `from` into `to` (PostgreSQL refuses to
 * change a routine's kind, its result type (OUT arguments included), the names or modes of its
 * arguments, or to remove a default), or undefined when it can. Both must have the same signature.
 */
export function routineNotReplaceable(from: Routine, to: Routine): string | undefined {
  if (from.kind !== to.kind) return `it changes from a ${from.kind} to a ${to.kind}`;
  // CREATE OR REPLACE AGGREGATE keeps the result type, which follows from STYPE and FINALFUNC.
  if (from.aggregate !== undefined && to.aggregate !== undefined) {
    if (from.aggregate.stype !== to.aggregate.stype) return 'its state type changes';
    if ((from.aggregate.finalfunc ?? '') !== (to.aggregate.finalfunc ?? '')) return 'its final function changes';
  }
  if ((from.returns ?? '') !== (to.returns ?? '')) return `its result type changes (${from.returns} → ${to.returns})`;
  if (from.arguments.length !== to.arguments.length) return 'its OUT arguments change';
  for (let i = 0; i < from.arguments.length; i++) {
    const a = from.arguments[i]!;
    const b = to.arguments[i]!;
    if ((a.mode ?? 'in') !== (b.mode ?? 'in') || a.type !== b.type) return `its argument ${i + 1} changes`;
    if ((a.name ?? '') !== (b.name ?? ''))
      return `its argument ${i + 1} changes name (${a.name ?? '-'} → ${b.name ?? '-'})`;
    if (a.default !== undefined && b.default === undefined) return `its argument ${a.name ?? i + 1} loses its default`;
  }
  return undefined;
}

/**
 * zdm's own functions and triggers (the sync trigger of a column replacement, the mirror of a
 * partition swap) end in one of these roles (`<table>_<column>_zdm_sync`, `<table>_zdm_sync`,
 * `<table>_zdm_sync_truncate`, optionally followed by a number): they exist only while a plan runs
 * and are never part of the model.
 */
const ZDM_OWN = /_zdm_sync(_truncate)?\d*$/;

export function isZdmOwnName(name: string): boolean {
  return ZDM_OWN.test(name);
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Routines in their canonical order: by signature. */
export function sortRoutines<T extends Routine>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => byText(routineSignature(a), routineSignature(b)) || byText(a.kind, b.kind));
}

/** Triggers in their canonical order: by table, then name. */
export function sortTriggers<T extends Trigger>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => byText(a.table, b.table) || byText(a.name, b.name));
}
