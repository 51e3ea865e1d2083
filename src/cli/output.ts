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
  const views = count((s) => s.views.length);
  const matviews = count((s) => s.materializedViews.length);
  if (views > 0) parts.push(`${views} view(s)`);
  if (matviews > 0) parts.push(`${matviews} materialized view(s)`);
  const functions = count((s) => s.functions.filter((r) => r.kind === 'function').length);
  const procedures = count((s) => s.functions.filter((r) => r.kind === 'procedure').length);
  const triggers = count((s) => s.triggers.length);
  if (functions > 0) parts.push(`${functions} function(s)`);
  if (procedures > 0) parts.push(`${procedures} procedure(s)`);
  if (triggers > 0) parts.push(`${triggers} trigger(s)`);
  return `${parts.join(', ')} in ${model.schemas.length} schema(s)`;
}
