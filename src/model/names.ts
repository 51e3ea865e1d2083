import type { IndexKey, Partition, Table } from './types.js';

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; zdm rejects longer names instead. */
export const MAX_IDENTIFIER_BYTES = 63;

export function identifierBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

export function isTooLong(name: string): boolean {
  return identifierBytes(name) > MAX_IDENTIFIER_BYTES;
}

/** The first `maxBytes` bytes of `text`, cut at a character boundary. */
export function clipUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * The name PostgreSQL gives an object it names itself (makeObjectName in its indexcmds.c):
 * `name1_name2_label`, the longer of name1 and name2 clipped a byte at a time until it fits in 63
 * bytes, each at a character boundary. `t_pkey`, `t_c_not_null`, `t_c_key`. (PostgreSQL appends a
 * number when the name is taken; a caller that needs that must check.)
 */
export function makeObjectName(name1: string, name2: string | undefined, label: string): string {
  const overhead = (name2 === undefined ? 0 : 1) + label.length + 1;
  const avail = MAX_IDENTIFIER_BYTES - overhead;
  let n1 = identifierBytes(name1);
  let n2 = name2 === undefined ? 0 : identifierBytes(name2);
  while (n1 + n2 > avail) {
    if (n1 > n2) n1--;
    else n2--;
  }
  const parts = [clipUtf8(name1, n1), ...(name2 === undefined ? [] : [clipUtf8(name2, n2)]), label];
  return parts.join('_');
}

/**
 * The label PostgreSQL ends the name of an index it names itself with (ChooseIndexName in its
 * indexcmds.c): a primary key's `pkey`, a unique constraint's `key`, an exclusion constraint's
 * `excl`, any other index's `idx`.
 */
export type IndexNameLabel = 'pkey' | 'key' | 'excl' | 'idx';

/**
 * The name PostgreSQL chooses for an index it names itself: the index of a partition that a
 * partitioned table's index or key creates or clones, an index created without a name.
 * ChooseIndexName → ChooseRelationName: `makeObjectName(table, <column names joined by _>, label)`
 * (a primary key's name has no column part); while `isTaken(name)` (a relation of the schema, or for
 * a constraint's index a constraint of the schema, has the name), the label gets a number:
 * `t_a_idx`, `t_a_idx1`, `t_a_idx2`…
 */
export function chooseIndexName(
  table: string,
  columnNames: readonly string[],
  label: IndexNameLabel,
  isTaken: (name: string) => boolean,
): string {
  const addition = label === 'pkey' ? undefined : indexNameAddition(columnNames);
  let name = makeObjectName(table, addition, label);
  for (let pass = 1; isTaken(name); pass++) name = makeObjectName(table, addition, `${label}${pass}`);
  return name;
}

/** ChooseIndexNameAddition: the column names joined by `_`, stopping once 64 bytes are reached. */
function indexNameAddition(names: readonly string[]): string {
  let buf = '';
  for (const name of names) {
    if (buf !== '') buf += '_';
    buf += clipUtf8(name, MAX_IDENTIFIER_BYTES);
    if (identifierBytes(buf) > MAX_IDENTIFIER_BYTES) break;
  }
  return buf;
}

/**
 * The column names of an index's columns, keys then INCLUDE columns (ChooseIndexColumnNames): a
 * column key's column name, an expression's name as FigureIndexColname derives it (`indexKeyName`),
 * a name equal to an earlier one made distinct with a number (`id`, `id1`, `id2`…).
 */
export function indexColumnNames(keys: readonly IndexKey[], include: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const orig of [...keys.map(indexKeyName), ...include]) {
    let name = orig;
    for (let i = 1; out.includes(name); i++) {
      const n = String(i);
      name = clipUtf8(orig, MAX_IDENTIFIER_BYTES - n.length) + n;
    }
    out.push(name);
  }
  return out;
}

/**
 * The name PostgreSQL gives an index column (FigureIndexColname in its parse_target.c): the column's
 * name; for an expression, the name of the function it calls (`lower(email)` → `lower`), through
 * casts and collations to what they apply to (`(code)::text` → `code`, a cast of something nameless
 * → the type's name), `case`, `coalesce`, `greatest`…; `expr` for anything else (`(a + b)`).
 */
export function indexKeyName(key: IndexKey): string {
  if (key.column !== undefined) return key.column;
  return expressionName(key.expression ?? '') ?? 'expr';
}

const IDENT = String.raw`(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*|"(?:[^"]|"")+")`;
const IDENT_ONLY = new RegExp(`^${IDENT}$`);
const CALL = new RegExp(String.raw`^(?:${IDENT}\.)?(${IDENT})\(`);
const CAST = new RegExp(String.raw`^(.*)::(?:${IDENT}\.)?(?:${IDENT}\s+)*(${IDENT})(?:\s*\([^()]*\))?(?:\[\])*$`, 's');
const KEYWORD_NAMES: Readonly<Record<string, string>> = {
  CASE: 'case',
  ARRAY: 'array',
  ROW: 'row',
  CURRENT_DATE: 'current_date',
  CURRENT_TIME: 'current_time',
  CURRENT_TIMESTAMP: 'current_timestamp',
  LOCALTIME: 'localtime',
  LOCALTIMESTAMP: 'localtimestamp',
  CURRENT_USER: 'current_user',
  SESSION_USER: 'session_user',
  CURRENT_ROLE: 'current_role',
};

function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replaceAll('""', '"') : ident.toLowerCase();
}

/** Whether `text` is one parenthesized group `( … )` with balanced parentheses (quotes respected). */
function wrapped(text: string): boolean {
  if (!text.startsWith('(') || !text.endsWith(')')) return false;
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0 && i < text.length - 1) return false;
  }
  return depth === 0;
}

/** Whether the call `name(` that starts `text` ends exactly at its end. */
function wholeCall(text: string, open: number): boolean {
  return wrapped(text.slice(open));
}

function expressionName(expression: string): string | undefined {
  let text = expression.trim();
  while (wrapped(text)) text = text.slice(1, -1).trim();
  const collate = /^(.*)\s+COLLATE\s+\S+$/s.exec(text);
  if (collate && !wrapped(text)) return expressionName(collate[1]!);
  const cast = CAST.exec(text);
  if (cast && (wrapped(cast[1]!) || IDENT_ONLY.test(cast[1]!))) {
    return expressionName(cast[1]!) ?? unquote(cast[2]!);
  }
  if (IDENT_ONLY.test(text)) {
    const word = KEYWORD_NAMES[text.toUpperCase()];
    return word ?? unquote(text);
  }
  const call = CALL.exec(text);
  if (call && wholeCall(text, call[0].length - 1)) return unquote(call[1]!);
  const head = /^([A-Z_]+)(?![A-Za-z0-9_])/.exec(text)?.[1];
  if (head === 'CASE' && text.endsWith('END')) return 'case';
  if ((head === 'ARRAY' || head === 'ROW') && wholeCall(text, head.length)) return head.toLowerCase();
  return undefined;
}

/** Qualified display name `schema.name`, quoting neither part (for messages, not SQL). */
export function qualified(schema: string, name: string): string {
  return `${schema}.${name}`;
}

/** `schema.name` of a relation for messages (neither part quoted). */
export function qualifiedRef(r: { readonly schema: string; readonly name: string }): string {
  return qualified(r.schema, r.name);
}

/**
 * The name PostgreSQL 18 gives the NOT NULL constraint it makes for `table.column` itself (NOT NULL
 * in CREATE TABLE or ADD COLUMN, SET NOT NULL, a primary key): `<table>_<column>_not_null`. (It
 * appends a number when a constraint of the schema has the name; such a name is kept explicitly.)
 */
export function defaultNotNullName(table: string, column: string): string {
  return makeObjectName(table, column, 'not_null');
}

/**
 * By column, the names of the NOT NULL constraints of `target` (the table `root` or one of its
 * partitions at any depth), as PostgreSQL 18 has them: the root's are its columns' `notNullName` or
 * the default; a partition made by `PARTITION OF` takes its parent's, except where its
 * `notNullNames` says otherwise. Undefined when `target` is not in `root`'s tree.
 */
export function notNullNamesIn(
  root: Table,
  target: { readonly schema: string; readonly name: string },
): Map<string, string> | undefined {
  const own = new Map<string, string>();
  for (const c of root.columns) {
    if (!c.nullable) own.set(c.name, c.notNullName ?? defaultNotNullName(root.name, c.name));
  }
  const walk = (r: Table | Partition, names: Map<string, string>): Map<string, string> | undefined => {
    if (r.schema === target.schema && r.name === target.name) return names;
    for (const p of r.partitions) {
      const found = walk(p, withPartitionNames(names, p));
      if (found) return found;
    }
    return undefined;
  };
  return walk(root, own);
}

function withPartitionNames(parent: ReadonlyMap<string, string>, p: Partition): Map<string, string> {
  const out = new Map(parent);
  for (const [column, name] of Object.entries(p.notNullNames ?? {})) if (out.has(column)) out.set(column, name);
  return out;
}

const WORD = /[\p{L}_][\p{L}\p{N}_$]*/gu;
const IDENTIFIER = new RegExp(`^${WORD.source}$`, 'u');

/** Whether `name` is a plain identifier (letters, digits, `_`, `$`, not starting with a digit). */
export function isPlainIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/**
 * The words of `text` that could be plain identifiers: the names an expression, a body or any other
 * text may mention. Matching these against object names errs towards finding more, never less, of
 * what the text could mean (a word in a string literal or a comment is found too).
 */
export function namesMentioned(text: string): Set<string> {
  return new Set(text.match(WORD) ?? []);
}
