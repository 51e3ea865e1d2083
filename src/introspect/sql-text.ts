/**
 * Parsers of the SQL fragments PostgreSQL's deparser prints (`pg_get_indexdef`,
 * `pg_get_partkeydef`, `pg_get_expr(relpartbound)`), built on the lexer of src/sql/lexer.ts.
 */

import { DeparseError, matchingClose, splitTopLevel, type Token, textOf, tokenize } from '../sql/lexer.js';

export { DeparseError } from '../sql/lexer.js';

const isWord = (t: Token | undefined, w: string): boolean => t?.kind === 'word' && t.text.toUpperCase() === w;

/** The text inside the parenthesized list that starts at token `open`, split at top-level commas. */
function parenList(source: string, tokens: readonly Token[], open: number): { items: Token[][]; close: number } {
  if (tokens[open]?.kind !== 'open') throw new DeparseError(`expected "(" in: ${source}`);
  const close = matchingClose(tokens, open);
  const inner = tokens.slice(open + 1, close);
  return { items: inner.length === 0 ? [] : splitTopLevel(inner), close };
}

/**
 * One bound value as the model keeps it: a literal without its quotes (`''` unescaped), or the
 * words MINVALUE, MAXVALUE and NULL as they are; anything else (a number, `true`) as printed.
 */
function boundValue(source: string, item: readonly Token[]): string {
  if (item.length === 1 && item[0]!.kind === 'string') return item[0]!.value;
  if (item.length === 1 && item[0]!.kind === 'word') {
    const up = item[0]!.text.toUpperCase();
    if (up === 'MINVALUE' || up === 'MAXVALUE' || up === 'NULL') return up;
  }
  return textOf(source, item);
}

export type ParsedBound =
  | { readonly kind: 'range'; readonly from: readonly string[]; readonly to: readonly string[] }
  | { readonly kind: 'list'; readonly values: readonly string[] }
  | { readonly kind: 'hash'; readonly modulus: number; readonly remainder: number }
  | { readonly kind: 'default' };

/**
 * Parses `pg_get_expr(relpartbound, oid)`: `FOR VALUES FROM (…) TO (…)`, `FOR VALUES IN (…)`,
 * `FOR VALUES WITH (modulus 4, remainder 0)` or `DEFAULT`.
 */
export function parsePartitionBound(source: string): ParsedBound {
  const tokens = tokenize(source);
  if (tokens.length === 1 && isWord(tokens[0], 'DEFAULT')) return { kind: 'default' };
  if (!isWord(tokens[0], 'FOR') || !isWord(tokens[1], 'VALUES')) {
    throw new DeparseError(`unrecognized partition bound: ${source}`);
  }
  const head = tokens[2];
  if (isWord(head, 'IN')) {
    const { items, close } = parenList(source, tokens, 3);
    if (close !== tokens.length - 1) throw new DeparseError(`unexpected text after partition bound: ${source}`);
    return { kind: 'list', values: items.map((it) => boundValue(source, it)) };
  }
  if (isWord(head, 'FROM')) {
    const from = parenList(source, tokens, 3);
    if (!isWord(tokens[from.close + 1], 'TO')) throw new DeparseError(`expected TO in partition bound: ${source}`);
    const to = parenList(source, tokens, from.close + 2);
    if (to.close !== tokens.length - 1) throw new DeparseError(`unexpected text after partition bound: ${source}`);
    return {
      kind: 'range',
      from: from.items.map((it) => boundValue(source, it)),
      to: to.items.map((it) => boundValue(source, it)),
    };
  }
  if (isWord(head, 'WITH')) {
    const { items } = parenList(source, tokens, 3);
    let modulus: number | undefined;
    let remainder: number | undefined;
    for (const it of items) {
      const [name, value] = it;
      if (it.length !== 2 || name?.kind !== 'word' || value?.kind !== 'number') {
        throw new DeparseError(`unrecognized hash partition bound: ${source}`);
      }
      if (name.text.toLowerCase() === 'modulus') modulus = Number(value.text);
      else if (name.text.toLowerCase() === 'remainder') remainder = Number(value.text);
    }
    if (modulus === undefined || remainder === undefined) {
      throw new DeparseError(`hash partition bound without modulus or remainder: ${source}`);
    }
    return { kind: 'hash', modulus, remainder };
  }
  throw new DeparseError(`unrecognized partition bound: ${source}`);
}

/**
 * Parses `pg_get_partkeydef`: `RANGE (created_at)`, `LIST ((lower(name)))`, `HASH (id)`. An element
 * that is a lone identifier is a column and comes back unquoted, like every name in the model; any
 * other element (an expression, a column with COLLATE or an operator class) comes back as printed.
 */
export function parsePartitionKey(source: string): { strategy: string; columns: string[] } {
  const tokens = tokenize(source);
  const strategy = tokens[0];
  if (strategy?.kind !== 'word') throw new DeparseError(`unrecognized partition key: ${source}`);
  const { items, close } = parenList(source, tokens, 1);
  if (close !== tokens.length - 1) throw new DeparseError(`unexpected text after partition key: ${source}`);
  return {
    strategy: strategy.text.toLowerCase(),
    columns: items.map((it) => {
      const only = it.length === 1 ? it[0]! : undefined;
      if (only?.kind === 'quoted') return only.value;
      if (only?.kind === 'word') return only.text;
      return textOf(source, it);
    }),
  };
}

/** What `pg_get_indexdef` prints after a key's column or expression. */
export interface KeySuffix {
  readonly collate: boolean;
  readonly opclass: boolean;
  /** Operator class parameters (`(siglen='32')`), which the model does not hold. */
  readonly opclassOptions: boolean;
}

/**
 * The key elements of `pg_get_indexdef(index, 0, true)`: the text of the first parenthesized list,
 * split at top-level commas. The statement before it holds only names, which are identifiers (quoted
 * when needed) and so never an unquoted "(".
 */
export function indexDefElements(def: string): string[] {
  const tokens = tokenize(def);
  const open = tokens.findIndex((t) => t.kind === 'open');
  if (open < 0) throw new DeparseError(`no key list in index definition: ${def}`);
  const { items } = parenList(def, tokens, open);
  return items.map((it) => textOf(def, it));
}

/**
 * Reads what follows a key in an index definition: `[COLLATE name] [opclass [(options)]] [DESC]
 * [NULLS FIRST|LAST]`. The deparser prints COLLATE only for a collation that is not the key's own,
 * and the operator class only when it is not the default for the key's type (PostgreSQL's own
 * `GetDefaultOpClass`, binary-coercible types included), so presence here is "non-default".
 */
export function parseKeySuffix(element: string, keyText: string): KeySuffix {
  if (!element.startsWith(keyText)) {
    throw new DeparseError(`index element "${element}" does not start with its key "${keyText}"`);
  }
  const tokens = tokenize(element.slice(keyText.length));
  let i = 0;
  const qualifiedName = (): boolean => {
    const t = tokens[i];
    if (t?.kind !== 'word' && t?.kind !== 'quoted') return false;
    i++;
    while (tokens[i]?.kind === 'dot' && (tokens[i + 1]?.kind === 'word' || tokens[i + 1]?.kind === 'quoted')) i += 2;
    return true;
  };
  let collate = false;
  if (isWord(tokens[i], 'COLLATE')) {
    i++;
    if (!qualifiedName()) throw new DeparseError(`expected a collation name in index element "${element}"`);
    collate = true;
  }
  let opclass = false;
  let opclassOptions = false;
  const next = tokens[i];
  if (next && !isWord(next, 'DESC') && !isWord(next, 'ASC') && !isWord(next, 'NULLS')) {
    if (!qualifiedName()) throw new DeparseError(`unrecognized text after key in index element "${element}"`);
    opclass = true;
    if (tokens[i]?.kind === 'open') {
      i = matchingClose(tokens, i) + 1;
      opclassOptions = true;
    }
  }
  if (isWord(tokens[i], 'ASC') || isWord(tokens[i], 'DESC')) i++;
  if (isWord(tokens[i], 'NULLS') && (isWord(tokens[i + 1], 'FIRST') || isWord(tokens[i + 1], 'LAST'))) i += 2;
  if (i !== tokens.length) throw new DeparseError(`unrecognized text after key in index element "${element}"`);
  return { collate, opclass, opclassOptions };
}
