/**
 * A small lexer for the SQL PostgreSQL's deparser prints (`pg_get_expr`, `pg_get_viewdef`,
 * `pg_get_indexdef` …). The deparser's output is regular enough to split at top-level commas, but
 * string literals and quoted identifiers can hold any character, so nothing built on it looks at
 * the text with a regex over the whole thing. Pure: used by introspection (src/introspect/sql-text.ts)
 * and by the desired-state writer (src/sql/round-trip.ts).
 */

import { InternalError } from '../errors.js';

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'open' | 'close' | 'comma' | 'dot' | 'other';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written (quotes included). */
  readonly text: string;
  /** For `quoted` and `string`: the content with quotes removed and escapes undone. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

export class DeparseError extends InternalError {
  override readonly name = 'DeparseError';
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

function readQuoted(
  text: string,
  start: number,
  quote: string,
  backslashEscapes: boolean,
): { end: number; value: string } {
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new DeparseError(`unterminated ${quote} quote in: ${text}`);
    const ch = text[i]!;
    if (backslashEscapes && ch === '\\' && i + 1 < text.length) {
      value += text[i + 1]!;
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (text[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return { end: i + 1, value };
    }
    value += ch;
    i++;
  }
}

/** Splits deparsed SQL into tokens; whitespace is dropped. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if ((ch === 'E' || ch === 'e') && text[i + 1] === "'") {
      const q = readQuoted(text, i + 1, "'", true);
      out.push({ kind: 'string', text: text.slice(start, q.end), value: q.value, start, end: q.end });
      i = q.end;
    } else if (ch === "'") {
      const q = readQuoted(text, i, "'", false);
      out.push({ kind: 'string', text: text.slice(start, q.end), value: q.value, start, end: q.end });
      i = q.end;
    } else if (ch === '"') {
      const q = readQuoted(text, i, '"', false);
      out.push({ kind: 'quoted', text: text.slice(start, q.end), value: q.value, start, end: q.end });
      i = q.end;
    } else if (WORD_START.test(ch)) {
      while (i < text.length && WORD_PART.test(text[i]!)) i++;
      const w = text.slice(start, i);
      out.push({ kind: 'word', text: w, value: w, start, end: i });
    } else if (/[0-9]/.test(ch)) {
      while (i < text.length && /[0-9.eE]/.test(text[i]!)) i++;
      const w = text.slice(start, i);
      out.push({ kind: 'number', text: w, value: w, start, end: i });
    } else {
      const kind: TokenKind =
        ch === '(' || ch === '['
          ? 'open'
          : ch === ')' || ch === ']'
            ? 'close'
            : ch === ','
              ? 'comma'
              : ch === '.'
                ? 'dot'
                : 'other';
      i++;
      out.push({ kind, text: ch, value: ch, start, end: i });
    }
  }
  return out;
}

/** Index of the token closing the bracket opened at `open` (which must be an `open` token). */
export function matchingClose(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new DeparseError(`unbalanced parentheses in: ${tokens.map((t) => t.text).join(' ')}`);
}

/** Splits `tokens` at commas outside any bracket. */
export function splitTopLevel(tokens: readonly Token[]): Token[][] {
  const parts: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close') depth--;
    if (t.kind === 'comma' && depth === 0) {
      parts.push(current);
      current = [];
    } else {
      current.push(t);
    }
  }
  if (current.length > 0 || parts.length > 0) parts.push(current);
  return parts;
}

/** The source text a run of tokens spans (original spacing kept). */
export function textOf(source: string, tokens: readonly Token[]): string {
  if (tokens.length === 0) return '';
  return source.slice(tokens[0]!.start, tokens[tokens.length - 1]!.end);
}
