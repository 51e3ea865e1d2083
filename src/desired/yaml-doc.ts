/**
 * YAML text → a plain JSON-like value (for ajv) plus, for every node, where it was written. Keys are
 * taken from the source text, not from YAML's resolution of them: a table called `1e3`, `null` or
 * `yes` is that name, not the number 1000, null or a boolean.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, Scalar } from 'yaml';
import type { DesiredIssue } from './errors.js';
import { formatPath, type PathSegment, type SourceLocation } from './paths.js';
import { type FastDocument, parenDepth, parseYamlFast } from './yaml-fast.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

interface NodeInfo {
  /** Offset of the key in the text, for a map entry. */
  readonly key?: number;
  /** Offset of the node in the text (line and column are worked out only when asked for). */
  readonly value: number;
  /** Keys of a map node in the order written (JSON objects put integer-like keys first). */
  readonly keys?: readonly string[];
  /** Source text of a plain scalar that YAML resolved to something other than a string. */
  readonly source?: string;
}

/** One parsed desired-state file: its value, and where each part of it was written. */
export interface ParsedDocument {
  readonly file: string;
  readonly value: unknown;
  /** Position of the entry's key (a map entry) or of the node, else of the nearest ancestor. */
  keyPosition(segments: readonly PathSegment[]): Position;
  /** Position of the node's value, else of the nearest ancestor. */
  valuePosition(segments: readonly PathSegment[]): Position;
  /** Keys of the map at `segments`, in the order they were written. */
  keys(segments: readonly PathSegment[]): readonly string[];
  /**
   * The text a scalar was written as: `0.50` stays `0.50` and a 20-digit integer keeps its digits,
   * where YAML would hand over a rounded JavaScript number.
   */
  scalarText(segments: readonly PathSegment[], value: string | number | boolean): string;
  /** Where the node at `path` (a formatted path) was written: its key for a map entry. */
  location(path: string): SourceLocation | undefined;
  /**
   * What `location` needs, without the document's value: kept for the rest of a run (to place the
   * errors of later stages) after the value has been converted to the model and let go.
   */
  locator(): Locator;
}

/** Where nodes were written, by formatted path. */
export interface Locator {
  location(path: string): SourceLocation | undefined;
}

/** A file read by the `yaml` library's document model, which knows every node's position. */
class LocatedDocument implements ParsedDocument {
  constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly nodes: ReadonlyMap<string, NodeInfo>,
    private readonly lineCounter: LineCounter,
  ) {}

  keyPosition(segments: readonly PathSegment[]): Position {
    const info = this.nearest(segments);
    return this.position(info.key ?? info.value);
  }

  valuePosition(segments: readonly PathSegment[]): Position {
    return this.position(this.nearest(segments).value);
  }

  keys(segments: readonly PathSegment[]): readonly string[] {
    return this.nodes.get(formatPath(segments))?.keys ?? [];
  }

  scalarText(segments: readonly PathSegment[], value: string | number | boolean): string {
    if (typeof value === 'string') return value;
    return this.nodes.get(formatPath(segments))?.source ?? String(value);
  }

  location(path: string): SourceLocation | undefined {
    const info = this.nodes.get(path);
    if (info === undefined) return undefined;
    return { file: this.file, ...this.position(info.key ?? info.value) };
  }

  locator(): Locator {
    return this;
  }

  private position(offset: number): Position {
    if (offset < 0) return { line: 1, column: 1 };
    const lp = this.lineCounter.linePos(offset);
    return { line: lp.line, column: lp.col };
  }

  private nearest(segments: readonly PathSegment[]): NodeInfo {
    for (let n = segments.length; n >= 0; n--) {
      const info = this.nodes.get(formatPath(segments.slice(0, n)));
      if (info) return info;
    }
    return { value: -1 };
  }
}

export interface ParseResult {
  /** Absent when the text is not well-formed YAML. */
  readonly document?: ParsedDocument;
  readonly issues: readonly DesiredIssue[];
}

/** Texts at least this long are held deflated until a position is asked for. */
const DEFLATE_FROM = 64 * 1024;

/**
 * The text of a file read on the fast path, parsed again with the document model on the first
 * question about a position (it reads the same value).
 */
class TextLocator implements Locator {
  private located: ParsedDocument | undefined;
  /** The text, or for a large one its deflated bytes: kept for the whole run, rarely read. */
  private readonly text: string | Buffer;

  constructor(
    private readonly file: string,
    text: string,
  ) {
    // A desired state of 10,000 tables is 10 MB of text and deflates to 0.3 MB in about 25 ms.
    this.text = text.length >= DEFLATE_FROM ? deflateRawSync(Buffer.from(text, 'utf8'), { level: 1 }) : text;
  }

  location(path: string): SourceLocation | undefined {
    return this.document().location(path);
  }

  document(): ParsedDocument {
    if (this.located === undefined) {
      const text = typeof this.text === 'string' ? this.text : inflateRawSync(this.text).toString('utf8');
      const full = parseLocated(text, this.file);
      if (full.document === undefined || full.issues.length > 0) {
        throw new Error(`internal error: ${this.file} was read on the fast path but the YAML parser rejects it`);
      }
      this.located = full.document;
    }
    return this.located;
  }
}

/**
 * A file read on the fast path (yaml-fast.ts): the value without positions. The first question
 * about a position parses the text again with the document model, which reads the same value.
 */
class FastReadDocument implements ParsedDocument {
  private readonly text: TextLocator;

  constructor(
    readonly file: string,
    text: string,
    private readonly read: FastDocument,
  ) {
    this.text = new TextLocator(file, text);
  }

  get value(): unknown {
    return this.read.value;
  }

  keyPosition(segments: readonly PathSegment[]): Position {
    return this.text.document().keyPosition(segments);
  }

  valuePosition(segments: readonly PathSegment[]): Position {
    return this.text.document().valuePosition(segments);
  }

  location(path: string): SourceLocation | undefined {
    return this.text.location(path);
  }

  locator(): Locator {
    return this.text;
  }

  keys(segments: readonly PathSegment[]): readonly string[] {
    const node = this.at(segments);
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
    return this.read.keyOrder.get(node) ?? Object.keys(node);
  }

  scalarText(segments: readonly PathSegment[], value: string | number | boolean): string {
    if (typeof value === 'string' || segments.length === 0) return String(value);
    const parent = this.at(segments.slice(0, -1));
    const source =
      parent !== null && typeof parent === 'object' ? this.read.sources.get(parent)?.get(segments.at(-1)!) : undefined;
    return source ?? String(value);
  }

  private at(segments: readonly PathSegment[]): unknown {
    let node = this.read.value;
    for (const s of segments) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, s)) return undefined;
      node = (node as Record<string | number, unknown>)[s];
    }
    return node;
  }
}

/**
 * Reads one desired-state file: on the fast path when it can (no positions until one is asked
 * for), else with the `yaml` library's document model, which also reports syntax errors.
 */
export function parseYaml(text: string, file: string): ParseResult {
  const fast = parseYamlFast(text);
  if (fast !== undefined) return { document: new FastReadDocument(file, text, fast), issues: [] };
  return parseLocated(text, file);
}

/** Reads one file with the `yaml` library's document model: positions of every node. */
export function parseLocated(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below, from the source text of each key and with both positions.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const pos = (offset: number): Position => {
    const lp = lineCounter.linePos(offset);
    return { line: lp.line, column: lp.col };
  };
  const issues: DesiredIssue[] = [];
  // Only the first: after a syntax error the parser's further complaints are mostly echoes of it.
  const first = doc.errors[0];
  if (first) {
    const p = pos(first.pos[0]);
    const message = `YAML syntax error: ${yamlMessage(first.message)}${flowHint(text, first.pos[0])}`;
    return { issues: [{ file, line: p.line, column: p.column, path: '', message }] };
  }

  const nodes = new Map<string, NodeInfo>();
  const active = new Set<Node>();

  // Offsets, not positions: a line and column are worked out only for an issue (or when asked).
  const build = (node: Node | null | undefined, segments: PathSegment[], key: number | undefined): unknown => {
    const path = formatPath(segments);
    const atOffset = node?.range ? node.range[0] : (key ?? -1);
    const at = (): Position => (atOffset < 0 ? { line: 1, column: 1 } : pos(atOffset));
    const record = (extra?: Partial<NodeInfo>) =>
      nodes.set(path, key === undefined ? { value: atOffset, ...extra } : { key, value: atOffset, ...extra });
    if (node == null) {
      record();
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc as Document);
      if (!target || active.has(target)) {
        issues.push({ file, ...at(), path, message: `alias *${node.source} does not resolve to a finite value` });
        record();
        return null;
      }
      active.add(target);
      // The alias's own position stands for every node under it.
      const value = build(target, segments, key ?? atOffset);
      active.delete(target);
      return value;
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string' || v === null) {
        record();
        return v;
      }
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
        const src = node.source ?? (node.range ? text.slice(node.range[0], node.range[1]) : String(v));
        record({ source: src });
        return typeof v === 'bigint' ? Number(v) : v;
      }
      issues.push({
        file,
        ...at(),
        path,
        message: 'unsupported YAML value (only strings, numbers, booleans, lists and maps)',
      });
      record();
      return null;
    }
    if (isSeq(node)) {
      record();
      const items = node.flow ? rejoinFlowSeq(node.items as (Node | null)[], text) : node.items;
      return items.map((item, i) => build(item as Node | null, [...segments, i], undefined));
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      const keys: string[] = [];
      const keyAt = new Map<string, number>();
      const pairs = node.flow ? rejoinFlowMap(node.items as FlowPair[], text) : node.items;
      for (const pair of pairs) {
        const k = pair.key as Node | null;
        const kp = k?.range ? k.range[0] : atOffset;
        const kpos = (): Position => (kp < 0 ? { line: 1, column: 1 } : pos(kp));
        const name = keyText(k);
        if (name === undefined) {
          issues.push({ file, ...kpos(), path, message: 'a map key must be a plain string, not a list or a map' });
          continue;
        }
        const firstOffset = keyAt.get(name);
        if (firstOffset !== undefined) {
          const first = firstOffset < 0 ? { line: 1, column: 1 } : pos(firstOffset);
          issues.push({
            file,
            ...kpos(),
            path: formatPath([...segments, name]),
            message: `duplicate key \`${name}\` (first at line ${first.line}, column ${first.column}): a key may appear only once in a map`,
          });
          continue;
        }
        keyAt.set(name, kp);
        keys.push(name);
        // defineProperty: a key named `__proto__` is data, not the prototype.
        Object.defineProperty(out, name, {
          value: build(pair.value as Node | null, [...segments, name], kp),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      record({ keys });
      return out;
    }
    record();
    return null;
  };

  const value = build(doc.contents as Node | null, [], undefined);
  return { document: new LocatedDocument(file, value, nodes, lineCounter), issues };
}

interface FlowPair {
  readonly key: unknown;
  readonly value: unknown;
}

function isPlainText(n: unknown): n is Scalar<string> & { range: [number, number, number] } {
  return isPlain(n) && typeof n.value === 'string';
}

/** Any plain scalar: `2` in `numeric(10, 2)` comes back from YAML as a number. */
function isPlain(n: unknown): n is Scalar & { range: [number, number, number] } {
  return isScalar(n) && n.type === 'PLAIN' && n.range != null && n.value !== null;
}

/** The source from `first` to the end of `last`, as one plain scalar. */
function joined(first: { range: [number, number, number] }, lastEnd: number, text: string): Scalar<string> {
  const s = new Scalar(text.slice(first.range[0], lastEnd));
  s.type = 'PLAIN';
  s.range = [first.range[0], lastEnd, lastEnd];
  return s;
}

/**
 * In `{ type: numeric(10, 2) }` YAML ends the value at the comma and reads `2)` as a key without a
 * value. SQL in flow maps is too common (README's own examples write it) to make people quote
 * it, so a value with an open parenthesis takes back the value-less keys that close it.
 */
function rejoinFlowMap(pairs: readonly FlowPair[], text: string): FlowPair[] {
  const out: FlowPair[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const value = pair.value;
    if (!isPlainText(value) || parenDepth(value.value) <= 0) {
      out.push(pair);
      continue;
    }
    let depth = parenDepth(value.value);
    let j = i + 1;
    let end = value.range[1];
    while (depth > 0 && j < pairs.length) {
      const next = pairs[j]!;
      if (next.value !== null || !isPlain(next.key)) break;
      end = next.key.range[1];
      // Measured on the joined text: a quoted literal may span the comma (`'a,b'`).
      depth = parenDepth(text.slice(value.range[0], end));
      j++;
    }
    if (depth !== 0) {
      out.push(pair);
      continue;
    }
    out.push({ key: pair.key, value: joined(value, end, text) });
    i = j - 1;
  }
  return out;
}

/** The same for `[lower(a, b), c]`: items that close an open parenthesis join the item before. */
function rejoinFlowSeq(items: readonly (Node | null)[], text: string): (Node | null)[] {
  const out: (Node | null)[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (!isPlainText(item) || parenDepth(item.value) <= 0) {
      out.push(item);
      continue;
    }
    let depth = parenDepth(item.value);
    let j = i + 1;
    let end = item.range[1];
    while (depth > 0 && j < items.length) {
      const next = items[j];
      if (!isPlain(next)) break;
      end = next.range[1];
      depth = parenDepth(text.slice(item.range[0], end));
      j++;
    }
    if (depth !== 0) {
      out.push(item);
      continue;
    }
    out.push(joined(item, end, text));
    i = j - 1;
  }
  return out;
}

function keyText(key: Node | null): string | undefined {
  if (key == null) return '';
  if (!isScalar(key)) return undefined;
  if (typeof key.value === 'string') return key.value;
  return key.source ?? String(key.value);
}

/** `{ type: int[] }`: inside a flow collection `[`, `]`, `{`, `}` and `,` are YAML's, not the value's. */
function flowHint(text: string, offset: number): string {
  const ch = text[offset];
  const before = text.slice(Math.max(0, offset - 1), offset);
  if ((ch === '[' || ch === '{') && /[^\s,[{:]/.test(before)) {
    return "; inside `{ ... }` or `[ ... ]` quote a value that contains brackets, braces or commas (`type: 'int[]'`)";
  }
  return '';
}

/** The yaml library's messages end with a hint that makes no sense to zdm's users. */
function yamlMessage(message: string): string {
  return message.replace(/; please use YAML\.parseAllDocuments\(\)$/, ' (one document per file: remove `---`)');
}
