/**
 * What PostgreSQL does to the expressions that use a column when the column's type changes in
 * place: it re-parses them from their text, so the casts the old type needed disappear
 * (varchar → text: `(s)::text` becomes `s`; cidr → inet: `(c)::inet` becomes `c`; measured on 14 and
 * 18). The planner applies the same rewrite to its models, before diffing (so an index or check
 * that only differs by those casts is not rebuilt for nothing) and in the type change's model edit
 * (so the model after expand is what introspection reads back).
 */
import type { RelationRef } from '../diff/changes.js';
import type { DatabaseModel, IndexKey, RelationParts } from '../model/types.js';
import { quoteIdent } from '../sql/quote.js';
import { findRelation } from './context.js';
import { mapRelation, withOptional } from './model-edit.js';

/** `character varying(20)` → `character varying`: the type without its modifier. */
export const baseType = (t: string): string => t.replace(/\(.*\)/, '');

/** The cast that disappears when a column goes from `from` to `to` in place, if that is what happens. */
export function reparsedType(from: string, to: string): 'text' | 'inet' | undefined {
  if (baseType(from) === 'character varying' && to === 'text') return 'text';
  if (from === 'cidr' && to === 'inet') return 'inet';
  return undefined;
}

const identPattern = (column: string) => quoteIdent(column).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether the expression text refers to the column (conservatively: the name as a whole word). */
export function mentions(expr: string, column: string): boolean {
  return new RegExp(`(?<![\\w$."])${identPattern(column)}(?![\\w$"])`).test(expr);
}

/**
 * Whether a trigger's WHEN condition names the column: as `NEW.c` or `OLD.c` (the only way it can;
 * `mentions` skips a name after a dot), or bare.
 */
export function mentionsInRow(expr: string, column: string): boolean {
  return (
    new RegExp(`(?<![\\w$."])(?:new|old)\\.${identPattern(column)}(?![\\w$"])`, 'i').test(expr) ||
    mentions(expr, column)
  );
}

/** `(c)::text` and `c::text` → `c`: the casts PostgreSQL no longer prints once `c` is of that type. */
export function withoutCasts(expr: string, column: string, type: string): string {
  const c = identPattern(column);
  return expr
    .replace(new RegExp(`\\(${c}\\)::${type}(?![\\w\\[(])`, 'g'), () => quoteIdent(column))
    .replace(new RegExp(`(?<![\\w$."])${c}::${type}(?![\\w\\[(])`, 'g'), () => quoteIdent(column));
}

export function anyExpression(r: RelationParts, test: (e: string | undefined) => boolean): boolean {
  return (
    r.checks.some((c) => test(c.expression)) ||
    r.indexes.some((i) => test(i.where) || i.keys.some((k) => test(k.expression))) ||
    r.exclusionConstraints.some((x) => test(x.where) || x.elements.some((e) => test(e.key.expression))) ||
    r.partitions.some((p) => anyExpression(p, test))
  );
}

export function mapExpressions<T extends RelationParts>(r: T, fn: (e: string) => string): T {
  const opt = (e: string | undefined) => (e === undefined ? undefined : fn(e));
  const key = (k: IndexKey): IndexKey => (k.expression === undefined ? k : { ...k, expression: fn(k.expression) });
  return {
    ...r,
    checks: r.checks.map((c) => ({ ...c, expression: fn(c.expression) })),
    indexes: r.indexes.map((i) => withOptional({ ...i, keys: i.keys.map(key) }, 'where', opt(i.where))),
    exclusionConstraints: r.exclusionConstraints.map((x) =>
      withOptional({ ...x, elements: x.elements.map((e) => ({ ...e, key: key(e.key) })) }, 'where', opt(x.where)),
    ),
    partitions: r.partitions.map((p) => mapExpressions(p, fn)),
  };
}

/**
 * `live` with the expressions of every table whose columns change type in place (per `desired`)
 * rewritten as PostgreSQL will print them after the change.
 */
export function anticipateReparse(live: DatabaseModel, desired: DatabaseModel): DatabaseModel {
  let out = live;
  for (const s of live.schemas) {
    for (const t of s.tables) {
      const ref: RelationRef = { schema: s.name, name: t.name };
      const want = findRelation(desired, ref);
      if (want?.kind !== 'table') continue;
      for (const c of t.columns) {
        const d = want.columns.find((x) => x.name === c.name);
        const cast = d && reparsedType(c.type, d.type);
        if (cast === undefined) continue;
        out = mapRelation(out, ref, (r) => mapExpressions(r, (e) => withoutCasts(e, c.name, cast)));
      }
    }
  }
  return out;
}
