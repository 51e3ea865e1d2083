import type { DatabaseModel } from '../model/types.js';
/** Colour on a terminal; plain when piped, when NO_COLOR is set (https://no-color.org), or TERM=dumb. */
export function useColor(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && process.env.TERM !== 'dumb';
}

/** `2 table(s), 1 view(s) in 1 schema(s)`: what a desired state or a live database holds, for messages. */
export function objectCounts(model: DatabaseModel): string {
  const count = (f: (s: DatabaseModel['schemas'][number]) => number) => model.schemas.reduce((n, s) => n + f(s), 0);
  const parts = [`${count((s) => s.tables.length)} table(s)`];
  const more: readonly [string, number][] = [
    ['view(s)', count((s) => s.views.length)],
    ['materialized view(s)', count((s) => s.materializedViews.length)],
    ['function(s)', count((s) => s.functions.filter((f) => f.kind === 'function').length)],
    ['procedure(s)', count((s) => s.functions.filter((f) => f.kind === 'procedure').length)],
    ['aggregate(s)', count((s) => s.functions.filter((f) => f.kind === 'aggregate').length)],
    ['trigger(s)', count((s) => s.triggers.length)],
    ['composite type(s)', count((s) => s.compositeTypes.length)],
    ['polic(ies)', count((s) => s.tables.reduce((n, t) => n + (t.policies?.length ?? 0), 0))],
    ['cast(s)', model.casts?.length ?? 0],
  ];
  for (const [what, n] of more) if (n > 0) parts.push(`${n} ${what}`);
  return `${parts.join(', ')} in ${model.schemas.length} schema(s)`;
}
