/**
 * Pieces the statement builders share. Names go through src/sql/quote.ts, always; types and
 * expressions are SQL text by definition (the model holds them as the server prints them) and are
 * used as they are, in parentheses where the grammar needs them.
 */
import type { StorageParameters } from '../model/types.js';
import { identList, qualifiedName, quoteIdent, quoteLiteral } from './quote.js';

/**
 * Names of collations and operator classes are `schema.name`, or bare for pg_catalog's (which may
 * themselves contain a dot, like `en_US.utf8`): a prefix that is a known schema makes a qualified
 * name, anything else is one identifier.
 */
export function catalogObjectName(text: string, schemas: ReadonlySet<string>): string {
  const dot = text.indexOf('.');
  if (dot > 0 && schemas.has(text.slice(0, dot))) return qualifiedName(text.slice(0, dot), text.slice(dot + 1));
  return quoteIdent(text);
}

/** `(expr)`, without doubling parentheses that already enclose the whole expression. */
export function parenthesized(expr: string): string {
  const e = expr.trim();
  if (e.startsWith('(') && e.endsWith(')')) {
    let depth = 0;
    let quote: string | undefined;
    for (let i = 0; i < e.length; i++) {
      const ch = e[i]!;
      if (quote !== undefined) {
        if (ch === quote) quote = undefined;
        continue;
      }
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') {
        depth--;
        if (depth === 0 && i < e.length - 1) return `(${e})`;
      }
    }
    return e;
  }
  return `(${e})`;
}

/** ` INCLUDE (cols)` of a key or index, or nothing. */
export function includeSql(cols: readonly string[]): string {
  return cols.length > 0 ? ` INCLUDE (${identList(cols)})` : '';
}

const INTEGER = /^-?\d+$/;

/** An integer written into SQL as it is: anything else is refused, never interpolated. */
export function integer(text: string, what: string): string {
  if (!INTEGER.test(text)) throw new Error(`${what}: not an integer: ${JSON.stringify(text)}`);
  return text;
}

/**
 * `body` between dollar quotes whose tag occurs nowhere in it (function bodies and DO blocks hold
 * column names and expressions: user text).
 */
export function dollarQuoted(body: string): string {
  let tag = '$zdm$';
  for (let n = 1; body.includes(tag); n++) tag = `$zdm${n}$`;
  return `${tag}${body}${tag}`;
}

/** A storage parameter's name: `fillfactor`, or `toast.autovacuum_enabled` (a namespace and a name). */
export function storageParameterName(name: string): string {
  const dot = name.indexOf('.');
  return dot > 0 ? `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}` : quoteIdent(name);
}

/** `fillfactor = 80, autovacuum_enabled = off`, in the order given (PostgreSQL keeps it). */
export function storageParameterList(params: StorageParameters): string {
  return Object.keys(params)
    .map((k) => {
      const v = params[k]!;
      return `${storageParameterName(k)} = ${/^[A-Za-z0-9_.+-]+$/.test(v) ? v : quoteLiteral(v)}`;
    })
    .join(', ');
}

/** ` WITH (fillfactor = 80, …)` of a table or an index, or nothing when there are none. */
export function withClause(params: StorageParameters | undefined): string {
  if (params === undefined || Object.keys(params).length === 0) return '';
  return ` WITH (${storageParameterList(params)})`;
}
