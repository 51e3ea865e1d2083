/**
 * Functions and procedures: CREATE [OR REPLACE], DROP and COMMENT ON, from the model. Every name
 * goes through quote.ts; types, defaults and SQL-standard bodies are the server's own text.
 */
import { signatureArguments } from '../model/routines.js';
import type { AggregateDefinition, Routine, RoutineArgument } from '../model/types.js';
import { commentOnSql } from './comments.js';
import { dollarQuoted } from './fragments.js';
import { qualifiedName, quoteIdent, quoteLiteral } from './quote.js';

/**
 * Settings whose value is a list PostgreSQL keeps already quoted (`search_path=app, "my schema"`):
 * written as they are. Any other value is a string literal.
 */
const LIST_SETTINGS = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'shared_preload_libraries',
  'local_preload_libraries',
]);

function argumentSql(a: RoutineArgument): string {
  return [
    a.mode !== undefined ? a.mode.toUpperCase() : '',
    a.name !== undefined ? quoteIdent(a.name) : '',
    a.type,
    a.default !== undefined ? `DEFAULT ${a.default}` : '',
  ]
    .filter((x) => x !== '')
    .join(' ');
}

/** `public.f(integer, text)`: what DROP and COMMENT ON name a routine by (an aggregate of no argument: `(*)`). */
export function routineSignatureSql(r: Pick<Routine, 'kind' | 'schema' | 'name' | 'arguments'>): string {
  const args = signatureArguments(r).map((a) => a.type);
  return `${qualifiedName(r.schema, r.name)}(${r.kind === 'aggregate' && args.length === 0 ? '*' : args.join(', ')})`;
}

/** `FUNCTION public.f(integer)` / `PROCEDURE public.p()` / `AGGREGATE public.a(text)`. */
export function routineObject(r: Pick<Routine, 'kind' | 'schema' | 'name' | 'arguments'>): string {
  return `${r.kind.toUpperCase()} ${routineSignatureSql(r)}`;
}

/** `CREATE [OR REPLACE] AGGREGATE s.a(args) (SFUNC = …, STYPE = …, …)`: the definition the model holds. */
function createAggregateSql(r: Routine, agg: AggregateDefinition, replace: boolean): string {
  const args = r.arguments.length === 0 ? '*' : r.arguments.map(argumentSql).join(', ');
  const options = [`SFUNC = ${agg.sfunc}`, `STYPE = ${agg.stype}`];
  if (agg.finalfunc !== undefined) options.push(`FINALFUNC = ${agg.finalfunc}`);
  if (agg.finalfuncExtra) options.push('FINALFUNC_EXTRA');
  if (agg.combinefunc !== undefined) options.push(`COMBINEFUNC = ${agg.combinefunc}`);
  if (agg.serialfunc !== undefined) options.push(`SERIALFUNC = ${agg.serialfunc}`);
  if (agg.deserialfunc !== undefined) options.push(`DESERIALFUNC = ${agg.deserialfunc}`);
  if (agg.initcond !== undefined) options.push(`INITCOND = ${quoteLiteral(agg.initcond)}`);
  if (r.parallel !== undefined) options.push(`PARALLEL = ${r.parallel.toUpperCase()}`);
  return `CREATE ${replace ? 'OR REPLACE ' : ''}AGGREGATE ${qualifiedName(r.schema, r.name)}(${args}) (${options.join(', ')})`;
}

/**
 * `CREATE [OR REPLACE] FUNCTION|PROCEDURE …` with every option the model holds (an option left out
 * is PostgreSQL's default, which is also what CREATE OR REPLACE sets it to).
 */
export function createRoutineSql(r: Routine, o: { readonly replace?: boolean } = {}): string {
  if (r.aggregate !== undefined) return createAggregateSql(r, r.aggregate, o.replace === true);
  const parts = [
    `CREATE ${o.replace ? 'OR REPLACE ' : ''}${r.kind === 'procedure' ? 'PROCEDURE' : 'FUNCTION'}`,
    `${qualifiedName(r.schema, r.name)}(${r.arguments.map(argumentSql).join(', ')})`,
  ];
  if (r.kind === 'function' && r.returns !== undefined) parts.push(`RETURNS ${r.returns}`);
  parts.push(`LANGUAGE ${quoteIdent(r.language)}`);
  if (r.volatility !== undefined) parts.push(r.volatility.toUpperCase());
  if (r.strict) parts.push('STRICT');
  if (r.securityDefiner) parts.push('SECURITY DEFINER');
  if (r.leakproof) parts.push('LEAKPROOF');
  if (r.parallel !== undefined) parts.push(`PARALLEL ${r.parallel.toUpperCase()}`);
  if (r.cost !== undefined) parts.push(`COST ${r.cost}`);
  if (r.rows !== undefined) parts.push(`ROWS ${r.rows}`);
  for (const [name, value] of Object.entries(r.set ?? {})) {
    parts.push(`SET ${quoteIdent(name)} = ${LIST_SETTINGS.has(name) ? value : quoteLiteral(value)}`);
  }
  if (r.library !== undefined) parts.push(`AS ${quoteLiteral(r.library)}, ${quoteLiteral(r.body)}`);
  else parts.push(r.sqlBody ? `\n${r.body}` : `AS ${dollarQuoted(r.body)}`);
  return parts.join(' ');
}

/**
 * Statements that create (or replace) a routine without PostgreSQL checking its body now: the body
 * may name tables the same plan creates later (pg_dump does the same). A SQL-standard body is
 * always parsed.
 */
export function createRoutineStatements(r: Routine, o: { readonly replace?: boolean } = {}): string[] {
  return [
    'SET LOCAL check_function_bodies = off',
    createRoutineSql(r, o),
    ...(r.comment !== undefined && !o.replace ? [commentRoutineSql(r, r.comment)] : []),
  ];
}

export function dropRoutineSql(r: Pick<Routine, 'kind' | 'schema' | 'name' | 'arguments'>): string {
  return `DROP ${routineObject(r)}`;
}

export function commentRoutineSql(
  r: Pick<Routine, 'kind' | 'schema' | 'name' | 'arguments'>,
  text: string | undefined,
): string {
  return commentOnSql(routineObject(r), text);
}
