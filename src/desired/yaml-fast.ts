/**
 * A fast path for reading desired-state YAML: plain JavaScript values straight from the text, for
 * the subset of YAML that `zdm pull` writes and most people type (block maps and lists, one-line
 * flow collections, plain and quoted scalars, literal blocks `|` and `|-`, comments). It records no
 * positions: when a file turns out to need one (an error to locate), the caller parses it again
 * with the `yaml` library's document model, which yields the same value and knows where each node
 * was written.
 *
 * It gives up (returns undefined) on anything outside that subset or anything doubtful — anchors,
 * tags, directives, several documents, tabs outside a literal block, multi-line plain or quoted
 * scalars and flow collections, folded blocks, duplicate keys, a flow scalar with unbalanced
 * parentheses (which the full parser joins back, see yaml-doc.ts) — and the caller then takes the
 * full parser, which also reports the syntax errors. It never fails differently: what it accepts,
 * the `yaml` library (YAML 1.2, core schema) reads as the same value.
 */

import { StringPool } from '../model/strings.js';

/** What the fast path read: the value, and what a plain object cannot say about itself. */
export interface FastDocument {
  readonly value: unknown;
  /** Keys in written order, for a map whose own key order differs (integer-like keys come first). */
  readonly keyOrder: WeakMap<object, readonly string[]>;
  /** Source text of each plain scalar that resolved to a number or boolean, by container and key. */
  readonly sources: WeakMap<object, Map<string | number, string>>;
}

class GiveUp extends Error {}

const giveUp = (): never => {
  throw new GiveUp();
};

/** Characters that must not start a plain scalar (or a plain key) on the fast path. */
const INDICATOR = new Set([
  '-',
  '?',
  ':',
  ',',
  '[',
  ']',
  '{',
  '}',
  '#',
  '&',
  '*',
  '!',
  '|',
  '>',
  "'",
  '"',
  '%',
  '@',
  '`',
]);

/** Anywhere in the text: controls but tab and line feed, CR, BOM and the line breaks YAML 1.1 knew. */
const UNUSUAL = /[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\ufeff]/;

export function parseYamlFast(text: string): FastDocument | undefined {
  try {
    return new FastParser(text).document();
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  }
}

class FastParser {
  private readonly lines: string[];
  private readonly keyOrder = new WeakMap<object, readonly string[]>();
  private readonly sources = new WeakMap<object, Map<string | number, string>>();
  /** Text values, each distinct one once and detached from the file's text (see StringPool). */
  private readonly strings = new StringPool(true);

  constructor(text: string) {
    if (UNUSUAL.test(text)) giveUp();
    this.lines = text.split('\n');
  }

  document(): FastDocument {
    const first = this.nextContent(0);
    // An empty document, or one that is not a block map or list at the left margin: the full parser.
    if (first === undefined || this.indent(first) !== 0) giveUp();
    const value = this.blockNode(first!, 0, -1);
    if (value.next !== undefined) giveUp();
    return { value: value.value, keyOrder: this.keyOrder, sources: this.sources };
  }

  /** The next line at or after `from` that holds more than spaces and a comment. */
  private nextContent(from: number): number | undefined {
    for (let i = from; i < this.lines.length; i++) {
      const line = this.lines[i]!;
      const at = this.indent(i);
      if (at === line.length || line[at] === '#') {
        if (line.includes('\t')) giveUp();
        continue;
      }
      if (i === 0 && (line.startsWith('%') || line.startsWith('---'))) giveUp();
      if (line.startsWith('---') || line.startsWith('...')) giveUp();
      return i;
    }
    return undefined;
  }

  private indent(i: number): number {
    const line = this.lines[i]!;
    let n = 0;
    while (n < line.length && line.charCodeAt(n) === 32) n++;
    return n;
  }

  /**
   * A block collection starting on line `i` at column `col` (after `- ` for a list item's own
   * collection), inside a parent at indentation `parent`. Returns the line after it.
   */
  private blockNode(i: number, col: number, parent: number): { value: unknown; next: number | undefined } {
    const line = this.lines[i]!;
    if (line.includes('\t')) giveUp();
    if (col <= parent) giveUp();
    if (isDash(line, col)) return this.blockSeq(i, col);
    if (this.keyEnd(line, col) !== undefined) return this.blockMap(i, col);
    return giveUp();
  }

  private blockSeq(start: number, indent: number): { value: unknown; next: number | undefined } {
    const out: unknown[] = [];
    let i: number | undefined = start;
    while (i !== undefined) {
      const line = this.lines[i]!;
      if (line.includes('\t')) giveUp();
      const at = this.indent(i);
      if (at < indent) break;
      if (at > indent) giveUp();
      // A key at the list's own indentation ends a list that is the value of a key (`key:\n- a`).
      if (!isDash(line, at)) break;
      let col = at + 1;
      while (col < line.length && line.charCodeAt(col) === 32) col++;
      const index = out.length;
      if (col === line.length || line[col] === '#') {
        const r = this.nestedBlock(i, indent, false);
        out.push(r.value);
        i = r.next;
        continue;
      }
      if (col === at + 1) giveUp();
      if (isDash(line, col)) giveUp();
      if (this.keyEnd(line, col) !== undefined) {
        const r = this.blockMap(i, col);
        out.push(r.value);
        i = r.next;
        continue;
      }
      const r = this.inlineValue(i, col, indent, out, index);
      out.push(r.value);
      i = r.next;
    }
    return { value: out, next: i };
  }

  private blockMap(start: number, indent: number): { value: unknown; next: number | undefined } {
    const out: Record<string, unknown> = {};
    const keys: string[] = [];
    const seen = new Set<string>();
    let integerLike = false;
    let i: number | undefined = start;
    let col = indent;
    while (i !== undefined) {
      const line = this.lines[i]!;
      if (line.includes('\t')) giveUp();
      if (i !== start) {
        const at = this.indent(i);
        if (at < indent) break;
        if (at > indent) giveUp();
        col = at;
      }
      const k = this.keyEnd(line, col) ?? giveUp();
      const name = k.name;
      if (seen.has(name)) giveUp();
      seen.add(name);
      keys.push(name);
      if (!integerLike && isArrayIndex(name)) integerLike = true;
      let v = k.end + 1;
      while (v < line.length && line.charCodeAt(v) === 32) v++;
      let r: { value: unknown; next: number | undefined };
      if (v === line.length || line[v] === '#') r = this.nestedBlock(i, indent, true);
      else r = this.inlineValue(i, v, indent, out, name);
      setEntry(out, name, r.value);
      i = r.next;
      if (i !== undefined && this.indent(i) === indent && isDash(this.lines[i]!, indent)) giveUp();
    }
    if (integerLike) this.keyOrder.set(out, keys);
    return { value: out, next: i };
  }

  /** The value of `key:` or `-` with nothing after it: the lines below, or null. */
  private nestedBlock(i: number, indent: number, inMap: boolean): { value: unknown; next: number | undefined } {
    const n = this.nextContent(i + 1);
    if (n === undefined) return { value: null, next: undefined };
    const at = this.indent(n);
    if (at > indent) return this.blockNode(n, at, indent);
    // `key:` then `- item` at the key's own indentation: the list is the key's value.
    if (at === indent && inMap && isDash(this.lines[n]!, at)) return this.blockSeq(n, at);
    return { value: null, next: n };
  }

  /** A value written on the line of its key or dash: a scalar, a flow collection or a literal block. */
  private inlineValue(
    i: number,
    col: number,
    indent: number,
    container: object,
    key: string | number,
  ): { value: unknown; next: number | undefined } {
    const line = this.lines[i]!;
    const c = line[col]!;
    let value: unknown;
    let end: number;
    if (c === '|') return this.literalBlock(i, col, indent);
    if (c === '{' || c === '[') {
      const r = new FlowReader(line, col, this);
      value = r.node();
      end = r.pos;
    } else if (c === '"' || c === "'") {
      const q = quoted(line, col);
      value = this.text(q.value);
      end = q.end;
    } else {
      if (INDICATOR.has(c) && !(c === '-' && col + 1 < line.length && line[col + 1] !== ' ')) giveUp();
      const stop = commentAt(line, col);
      const raw = line.slice(col, stop).trimEnd();
      // `a: b: c` is an error, and `key: value` with a value that ends in `:` is doubtful.
      if (raw.includes(': ') || raw.endsWith(':')) giveUp();
      value = this.plain(raw, container, key);
      end = stop;
    }
    rest(line, end);
    const n = this.nextContent(i + 1);
    // A more indented line after a one-line value: a multi-line scalar or an error.
    if (n !== undefined && this.indent(n) > indent) giveUp();
    return { value, next: n };
  }

  /** `|` or `|-`: the lines below, more indented than the parent, as written. */
  private literalBlock(i: number, col: number, indent: number): { value: unknown; next: number | undefined } {
    const line = this.lines[i]!;
    let h = col + 1;
    let strip = false;
    if (line[h] === '-') {
      strip = true;
      h++;
    } else if (line[h] === '+' || (line[h] !== undefined && line[h] !== ' ')) {
      giveUp();
    }
    rest(line, h);
    const first = i + 1;
    // The block's indentation is that of its first line with text; empty lines before it may not
    // hold more spaces than that (YAML's rule; the full parser reports it).
    let textLine = first;
    while (textLine < this.lines.length && this.indent(textLine) === this.lines[textLine]!.length) textLine++;
    if (textLine >= this.lines.length) giveUp();
    const at = this.indent(textLine);
    if (at <= indent) giveUp();
    for (let e = first; e < textLine; e++) if (this.lines[e]!.length > at) giveUp();
    const content: string[] = [];
    let j = first;
    let lastContent = first;
    for (; j < this.lines.length; j++) {
      const l = this.lines[j]!;
      const li = this.indent(j);
      if (li === l.length) {
        // A line of spaces: empty, or spaces beyond the block's indentation, which are content.
        content.push(l.length > at ? l.slice(at) : '');
        continue;
      }
      if (li < at) break;
      content.push(l.slice(at));
      lastContent = j;
    }
    // Without a final newline after the last line its chomping is the full parser's business; so is
    // a trailing line of spaces beyond the block's indentation (content to the yaml library).
    if (lastContent === this.lines.length - 1) giveUp();
    for (let e = lastContent + 1; e < j; e++) if (this.lines[e]!.length > at) giveUp();
    const body = content.slice(0, lastContent - first + 1).join('\n');
    const value = strip ? body : `${body}\n`;
    const n = this.nextContent(j);
    if (n !== undefined && this.indent(n) > indent) giveUp();
    return { value, next: n };
  }

  /** Where `key:` ends on `line` at `col` (the colon's index), with the key's name; else undefined. */
  private keyEnd(line: string, col: number): { name: string; end: number } | undefined {
    const c = line[col];
    if (c === undefined) return undefined;
    if (c === '"' || c === "'") {
      const q = quoted(line, col);
      let e = q.end;
      while (e < line.length && line.charCodeAt(e) === 32) e++;
      if (line[e] !== ':' || (e + 1 < line.length && line[e + 1] !== ' ')) return undefined;
      if (e - col > 1000) giveUp();
      return { name: q.value, end: e };
    }
    if (INDICATOR.has(c)) return undefined;
    const stop = commentAt(line, col);
    for (let e = line.indexOf(':', col); e !== -1 && e < stop; e = line.indexOf(':', e + 1)) {
      if (e + 1 === line.length || line[e + 1] === ' ') {
        const name = line.slice(col, e).trimEnd();
        if (name === '' || e - col > 1000) giveUp();
        return { name, end: e };
      }
    }
    return undefined;
  }

  /** A plain scalar resolved as YAML 1.2's core schema does; numbers and booleans keep their text. */
  plain(raw: string, container: object, key: string | number): unknown {
    const value = resolvePlain(raw);
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'number' || typeof value === 'boolean') {
      let m = this.sources.get(container);
      if (m === undefined) {
        m = new Map();
        this.sources.set(container, m);
      }
      m.set(key, raw);
    }
    return value;
  }

  /** The pooled copy of a text value. */
  text(s: string): string {
    return this.strings.get(s);
  }

  noteKeyOrder(map: object, keys: readonly string[]): void {
    this.keyOrder.set(map, keys);
  }
}

/** A flow collection that opens and closes on one line. */
class FlowReader {
  constructor(
    private readonly line: string,
    public pos: number,
    private readonly parser: FastParser,
  ) {}

  node(): unknown {
    const c = this.line[this.pos];
    if (c === '{') return this.map();
    if (c === '[') return this.seq();
    return giveUp();
  }

  private spaces(): void {
    while (this.pos < this.line.length && this.line.charCodeAt(this.pos) === 32) this.pos++;
    // A comment, or the end of the line, inside a flow collection: a multi-line one, not ours.
    if (this.pos >= this.line.length || this.line[this.pos] === '#') giveUp();
  }

  private map(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    const keys: string[] = [];
    const seen = new Set<string>();
    let integerLike = false;
    this.spaces();
    if (this.line[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.spaces();
      const name = this.key();
      if (seen.has(name)) giveUp();
      seen.add(name);
      keys.push(name);
      if (!integerLike && isArrayIndex(name)) integerLike = true;
      this.spaces();
      const value = this.value(out, name);
      setEntry(out, name, value);
      this.spaces();
      const c = this.line[this.pos];
      this.pos++;
      if (c === '}') break;
      if (c !== ',') giveUp();
      this.spaces();
      // A trailing comma: valid YAML, left to the full parser.
      if (this.line[this.pos] === '}') giveUp();
    }
    if (integerLike) this.parser.noteKeyOrder(out, keys);
    return out;
  }

  private seq(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.spaces();
    if (this.line[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.spaces();
      out.push(this.value(out, out.length));
      this.spaces();
      const c = this.line[this.pos];
      this.pos++;
      if (c === ']') break;
      if (c !== ',') giveUp();
      this.spaces();
      if (this.line[this.pos] === ']') giveUp();
    }
    return out;
  }

  /** `key:` (followed by a space) in a flow map; the position ends after the colon. */
  private key(): string {
    const c = this.line[this.pos]!;
    let name: string;
    if (c === '"' || c === "'") {
      const q = quoted(this.line, this.pos);
      name = q.value;
      this.pos = q.end;
    } else {
      if (INDICATOR.has(c)) giveUp();
      const raw = this.plainText();
      name = raw;
      if (name === '') giveUp();
    }
    if (this.line[this.pos] !== ':' || this.line[this.pos + 1] !== ' ') giveUp();
    this.pos += 1;
    return name;
  }

  private value(container: object, key: string | number): unknown {
    const c = this.line[this.pos]!;
    if (c === '{') return this.map();
    if (c === '[') return this.seq();
    if (c === '"' || c === "'") {
      const q = quoted(this.line, this.pos);
      this.pos = q.end;
      return this.parser.text(q.value);
    }
    if (INDICATOR.has(c) && !(c === '-' && /[^\s,[\]{}]/.test(this.line[this.pos + 1] ?? ' '))) giveUp();
    const start = this.pos;
    const raw = this.plainText();
    if (raw === '') giveUp();
    // A single-pair map inside a list (`[a: b]`), or a value with `: ` in it: the full parser.
    if (this.line[this.pos] === ':') giveUp();
    if (parenDepth(raw) > 0) return this.parser.text(this.joined(start, raw));
    return this.parser.plain(raw, container, key);
  }

  /**
   * `numeric(10, 2)` in a flow collection: YAML ends the value at the comma, and yaml-doc.ts joins
   * back the plain pieces without a value of their own that close the parenthesis (as text, never
   * resolved). The same here; anything else (a piece with a value, parentheses left open) is left
   * to the full parser.
   */
  private joined(start: number, first: string): string {
    const line = this.line;
    let end = start + first.length;
    let depth = parenDepth(first);
    while (depth > 0) {
      if (line[this.pos] !== ',') giveUp();
      this.pos++;
      this.spaces();
      const c = line[this.pos]!;
      if (INDICATOR.has(c)) giveUp();
      const at = this.pos;
      const piece = this.plainText();
      if (piece === '' || line[this.pos] === ':' || resolvePlain(piece) === null) giveUp();
      end = at + piece.length;
      depth = parenDepth(line.slice(start, end));
    }
    if (depth !== 0) giveUp();
    return line.slice(start, end);
  }

  /**
   * A plain scalar in a flow collection: up to `,`, a bracket or brace, `: `, `:` before one of
   * those, or ` #`. The position ends at the stop (after trailing spaces are dropped from the text).
   */
  private plainText(): string {
    const start = this.pos;
    const line = this.line;
    let p = start;
    for (; p < line.length; p++) {
      const ch = line[p]!;
      if (ch === ',' || ch === '[' || ch === ']' || ch === '{' || ch === '}') break;
      if (ch === ':') {
        const next = line[p + 1];
        if (
          next === undefined ||
          next === ' ' ||
          next === ',' ||
          next === '[' ||
          next === ']' ||
          next === '{' ||
          next === '}'
        )
          break;
      }
      if (ch === '#' && p > start && line[p - 1] === ' ') giveUp();
    }
    this.pos = p;
    return line.slice(start, p).trimEnd();
  }
}

function setEntry(map: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty: a key named `__proto__` is data, not the prototype.
  if (key === '__proto__')
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

/** Only spaces or a comment may follow a value on its line. */
function rest(line: string, from: number): void {
  let p = from;
  while (p < line.length && line.charCodeAt(p) === 32) p++;
  if (p === line.length) return;
  if (line[p] === '#' && p > 0 && line[p - 1] === ' ') return;
  giveUp();
}

/** Where a comment starts (` #`) on a line of plain text from `col`, else the line's end. */
function commentAt(line: string, col: number): number {
  for (let p = line.indexOf('#', col); p !== -1; p = line.indexOf('#', p + 1)) {
    if (p > col && line[p - 1] === ' ') return p;
  }
  return line.length;
}

function isDash(line: string, col: number): boolean {
  return line[col] === '-' && (col + 1 === line.length || line[col + 1] === ' ');
}

/** A quoted scalar closed on the same line; `end` is just after the closing quote. */
function quoted(line: string, col: number): { value: string; end: number } {
  const q = line[col];
  if (q === "'") {
    let out = '';
    let p = col + 1;
    for (;;) {
      const e = line.indexOf("'", p);
      if (e === -1) return giveUp();
      out += line.slice(p, e);
      if (line[e + 1] === "'") {
        out += "'";
        p = e + 2;
        continue;
      }
      return { value: out, end: e + 1 };
    }
  }
  let out = '';
  let p = col + 1;
  for (;;) {
    let e = p;
    while (e < line.length && line[e] !== '"' && line[e] !== '\\') e++;
    if (e >= line.length) return giveUp();
    out += line.slice(p, e);
    if (line[e] === '"') return { value: out, end: e + 1 };
    const esc = line[e + 1];
    const simple = esc === undefined ? undefined : ESCAPES[esc];
    if (simple !== undefined) {
      out += simple;
      p = e + 2;
      continue;
    }
    const width = esc === 'x' ? 2 : esc === 'u' ? 4 : esc === 'U' ? 8 : 0;
    const hex = line.slice(e + 2, e + 2 + width);
    if (width === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) return giveUp();
    const code = Number.parseInt(hex, 16);
    // Surrogates and out-of-range code points: whatever the yaml library makes of them, not ours.
    if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return giveUp();
    out += String.fromCodePoint(code);
    p = e + 2 + width;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};

/** YAML 1.2 core schema, as the `yaml` library resolves a plain scalar (ints as numbers). */
export function resolvePlain(s: string): unknown {
  // Most scalars are names and SQL: text that no tag below can match starts with none of these.
  if (s !== '' && !'0123456789+-.~nNtTfF'.includes(s[0]!)) return s;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (/^0o[0-7]+$/.test(s)) return Number.parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return Number.parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    return s.slice(-3).toLowerCase() === 'nan' ? Number.NaN : s[0] === '-' ? -Infinity : Infinity;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return Number.parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return Number.parseFloat(s);
  return s;
}

/** A key JavaScript puts first in an object, whatever the order it was added in. */
function isArrayIndex(key: string): boolean {
  if (key === '0') return true;
  if (!/^[1-9][0-9]{0,9}$/.test(key)) return false;
  return Number(key) < 4294967295;
}

/** Parenthesis depth of SQL text, skipping 'quoted literals' (as yaml-doc.ts measures it). */
export function parenDepth(sqlText: string): number {
  let depth = 0;
  let quoted = false;
  for (const ch of sqlText) {
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
  }
  return depth;
}
