/**
 * Pieces the statement builders share. Names go through src/sql/quote.ts, always; types and
 * expressions are SQL text by definition (the model holds them as the server prints them) and are
 * used as they are, in parentheses where the grammar needs them.
 */
import { identList, qualifiedName, quoteIdent } from './quote.js';

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
