/**
 * Writing the desired-state YAML without the `yaml` library's document model.
 *
 * `writeDesiredState` (write.ts) builds a small tree of plain objects (`YamlMap`, `YamlSeq`, scalars
 * as JavaScript values, `YamlScalar` for a quoting or block style) and this module lays it out with
 * the library's own rules, the text `Document.toString` gives for the same tree built of the
 * library's nodes (`libraryText`, which the test compares with, and which write.ts falls back to for
 * what this module does not lay out). It used to build the library's nodes (YAMLMap, Pair, Scalar),
 * whose constructors and stringifier were most of `zdm pull`'s time after the catalog queries on a
 * schema of thousands of tables. Every scalar string is still left to the library's
 * `stringifyString` (exported by `yaml/util`), so quoting, escaping and block scalars are the
 * library's to the byte. A key over 1,024 characters (the library writes it as an explicit `? key`)
 * throws `Unsupported`.
 *
 * The options are those write.ts passes to `toString`: `lineWidth: 0` (nothing is folded),
 * `indent: 2`, `flowCollectionPadding: true`, `doubleQuotedAsJSON: true`, YAML 1.1 (strings that
 * YAML 1.1 readers would take for booleans, numbers or dates are quoted). The test
 * (test/unit/desired/yaml-emit.test.ts) compares its output with `Document.toString` on every YAML
 * file of the repository, the acceptance cases' desired states, and generated models.
 */
import { Document, type Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { stringifyNumber, stringifyString } from 'yaml/util';

/** A tree this module does not lay out: the caller falls back to the library. */
export class Unsupported extends Error {}

/** A string written in a given style (a plain one is just the string). */
export interface YamlScalar {
  readonly kind: 'scalar';
  readonly value: string;
  readonly style: 'QUOTE_DOUBLE' | 'QUOTE_SINGLE' | 'BLOCK_LITERAL';
}

export type YamlValue = YamlMap | YamlSeq | YamlScalar | string | number | bigint | boolean | null;

export interface YamlPair {
  readonly key: string;
  readonly value: YamlValue;
  /** A blank line before the key. */
  readonly spaceBefore: boolean;
  /** A comment on the line(s) before the key (the library's `commentBefore`: text after `#`). */
  commentBefore?: string;
}

export interface YamlMap {
  readonly kind: 'map';
  /** `{ a: 1 }` rather than a block. */
  readonly flow: boolean;
  readonly items: YamlPair[];
}

export interface YamlSeq {
  readonly kind: 'seq';
  readonly flow: boolean;
  readonly items: YamlValue[];
}

const INDENT_STEP = '  ';

/** The library's stringify options, as `Document.toString` completes them for write.ts's. */
const OPTIONS = {
  blockQuote: true,
  commentString: (str: string): string => str.replace(/^(?!$)(?: $)?/gm, '#'),
  defaultKeyType: null,
  defaultStringType: 'PLAIN',
  directives: null,
  doubleQuotedAsJSON: true,
  doubleQuotedMinMultiLineLength: 40,
  falseStr: 'false',
  flowCollectionPadding: true,
  indentSeq: true,
  lineWidth: 0,
  minContentWidth: 20,
  nullStr: 'null',
  simpleKeys: false,
  singleQuote: null,
  trailingComma: false,
  trueStr: 'true',
  verifyAliasOrder: true,
  indent: 2,
};

/** The options `Document.toString` is given (write.ts's). */
const TO_STRING = { lineWidth: 0, indent: 2, flowCollectionPadding: true, doubleQuotedAsJSON: true } as const;

/** A YAML 1.1 document: its schema's tags decide which plain strings must be quoted. */
let schemaDoc: Document | undefined;

interface Ctx {
  readonly indent: string;
  readonly inFlow: boolean | null;
  readonly implicitKey: boolean;
  readonly indentAtStart?: number;
  forceBlockIndent?: boolean;
}

type Callback = (() => void) | undefined;

/** The text `Document.toString` gives for a document whose contents are `root` (a block map), ending in a newline. */
export function emitYaml(root: YamlMap): string {
  schemaDoc ??= new Document(null, { version: '1.1' });
  try {
    return `${emit(root, { indent: '', inFlow: null, implicitKey: false }, undefined)}\n`;
  } finally {
    written.clear();
  }
}

/** The same tree built of the `yaml` library's nodes, written by its `Document.toString`. */
export function libraryText(root: YamlMap): string {
  const doc = new Document(null, {
    // Strings YAML 1.1 readers take for booleans, octal numbers or dates (`yes`, `0777`,
    // `2024-10-01`) get quoted too, so the files mean the same to every tool.
    version: '1.1',
  });
  doc.contents = libraryNode(root) as YAMLMap;
  const text = doc.toString(TO_STRING);
  // The yaml library leaves the final newline out after some node kinds; POSIX text files end in one.
  return text.endsWith('\n') ? text : `${text}\n`;
}

function libraryNode(v: YamlValue): Node {
  if (v === null || typeof v !== 'object') return new Scalar(v);
  switch (v.kind) {
    case 'scalar': {
      const s = new Scalar(v.value);
      s.type = Scalar[v.style];
      return s;
    }
    case 'seq': {
      const s = new YAMLSeq();
      if (v.flow) s.flow = true;
      for (const item of v.items) s.items.push(libraryNode(item));
      return s;
    }
    case 'map': {
      const m = new YAMLMap();
      if (v.flow) m.flow = true;
      for (const p of v.items) {
        const k = new Scalar(p.key);
        if (p.spaceBefore) k.spaceBefore = true;
        if (p.commentBefore !== undefined) k.commentBefore = p.commentBefore;
        m.items.push(new Pair(k, libraryNode(p.value)));
      }
      return m;
    }
  }
}

/** The text of each one-line string scalar already written in this document, by context (emitString). */
const written = new Map<string, string>();

function emit(v: YamlValue, ctx: Ctx, onChompKeep: Callback): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return emitString(v, undefined, ctx, onChompKeep);
    case 'number':
      return Number.isSafeInteger(v) ? String(v) : stringifyNumber({ value: v } as never);
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      break;
  }
  switch (v.kind) {
    case 'scalar':
      return emitString(v.value, v.style, ctx, onChompKeep);
    case 'map':
      return (ctx.inFlow ?? v.flow)
        ? emitFlow(v, ctx, '{', '}', ctx.indent)
        : emitBlock(v, ctx, '', '{', '}', ctx.indent, onChompKeep);
    case 'seq':
      return (ctx.inFlow ?? v.flow)
        ? emitFlow(v, ctx, '[', ']', `${ctx.indent}  `)
        : emitBlock(v, ctx, '- ', '[', ']', `${ctx.indent}  `, onChompKeep);
  }
}

function emitString(v: string, style: YamlScalar['style'] | undefined, ctx: Ctx, onChompKeep: Callback): string {
  // A one-line string is written the same at any depth (nothing is folded at lineWidth 0), save
  // a document marker (`---`, `%`) on a top-level key or at the root: the text is kept per
  // context, and most strings of a schema (types, column names, `nullable`) come back many times.
  const cacheable = !v.includes('\n');
  const key = cacheable
    ? `${ctx.implicitKey ? 'k' : 'v'}${ctx.inFlow ? 'f' : 'b'}${ctx.indent === '' ? 0 : ctx.indent === INDENT_STEP ? 1 : 2}${style ?? ''}:${v}`
    : '';
  if (cacheable) {
    const known = written.get(key);
    if (known !== undefined) return known;
  }
  const full = {
    actualString: true,
    doc: schemaDoc,
    indent: ctx.indent,
    indentAtStart: ctx.indentAtStart,
    indentStep: INDENT_STEP,
    implicitKey: ctx.implicitKey,
    inFlow: ctx.inFlow,
    forceBlockIndent: ctx.forceBlockIndent ?? false,
    options: OPTIONS,
  };
  const out = stringifyString({ value: v, type: style } as never, full as never, undefined, onChompKeep);
  if (full.forceBlockIndent) ctx.forceBlockIndent = true;
  if (cacheable) written.set(key, out);
  return out;
}

function emitPair(pair: YamlPair, ctx: Ctx, onChompKeep: Callback): string {
  const indent = ctx.indent + INDENT_STEP;
  let str = emitString(pair.key, undefined, { indent, inFlow: ctx.inFlow, implicitKey: true }, undefined);
  if (!ctx.inFlow && str.length > 1024) throw new Unsupported('a key over 1024 characters');
  str = `${str}:`;
  const v = pair.value;
  const collection = v !== null && typeof v === 'object' && v.kind !== 'scalar';
  let chompKeep = false;
  const valueCtx: Ctx = collection
    ? { indent, inFlow: ctx.inFlow, implicitKey: false }
    : { indent, inFlow: ctx.inFlow, implicitKey: false, indentAtStart: str.length + 1 };
  const valueStr = emit(v, valueCtx, () => {
    chompKeep = true;
  });
  let ws = ' ';
  if (collection) {
    const flow = ctx.inFlow ?? (v.flow || v.items.length === 0);
    if (!flow || valueStr.includes('\n')) ws = `\n${indent}`;
  } else if (valueStr === '' || valueStr[0] === '\n') {
    ws = '';
  }
  str += ws + valueStr;
  if (!ctx.inFlow && chompKeep && onChompKeep) onChompKeep();
  return str;
}

function emitBlock(
  collection: YamlMap | YamlSeq,
  ctx: Ctx,
  blockItemPrefix: string,
  start: string,
  end: string,
  itemIndent: string,
  onChompKeep: Callback,
): string {
  const itemCtx: Ctx = { indent: itemIndent, inFlow: ctx.inFlow, implicitKey: ctx.implicitKey };
  let chompKeep = false;
  const onItemChompKeep = (): void => {
    chompKeep = true;
  };
  const lines: string[] = [];
  if (collection.kind === 'map') {
    for (const item of collection.items) {
      if (!chompKeep && item.spaceBefore) lines.push('');
      if (item.commentBefore) {
        let c = item.commentBefore;
        if (chompKeep) c = c.replace(/^\n+/, '');
        if (c) lines.push(indentComment(OPTIONS.commentString(c), ctx.indent).trimStart());
      }
      chompKeep = false;
      lines.push(blockItemPrefix + emitPair(item, itemCtx, onItemChompKeep));
    }
  } else {
    for (const item of collection.items) {
      chompKeep = false;
      lines.push(blockItemPrefix + emit(item, itemCtx, onItemChompKeep));
    }
  }
  if (lines.length === 0) return start + end;
  let str = lines[0]!;
  for (let i = 1; i < lines.length; ++i) {
    const line = lines[i]!;
    str += line ? `\n${ctx.indent}${line}` : '\n';
  }
  if (chompKeep && onChompKeep) onChompKeep();
  return str;
}

function emitFlow(collection: YamlMap | YamlSeq, ctx: Ctx, start: string, end: string, itemIndent: string): string {
  const indent = itemIndent + INDENT_STEP;
  const itemCtx: Ctx = { indent, inFlow: true, implicitKey: ctx.implicitKey };
  let reqNewline = false;
  const lines: string[] = [];
  const n = collection.items.length;
  for (let i = 0; i < n; ++i) {
    if (collection.kind === 'map') {
      const item = collection.items[i]!;
      if (item.spaceBefore || item.commentBefore) throw new Unsupported('space or comment in a flow map');
    }
    let str =
      collection.kind === 'map'
        ? emitPair(collection.items[i]!, itemCtx, undefined)
        : emit(collection.items[i]!, itemCtx, undefined);
    reqNewline ||= str.includes('\n');
    if (i < n - 1) str += ',';
    lines.push(str);
  }
  if (lines.length === 0) return start + end;
  if (reqNewline) {
    let str = start;
    for (const line of lines) str += line ? `\n${INDENT_STEP}${ctx.indent}${line}` : '\n';
    return `${str}\n${ctx.indent}${end}`;
  }
  return `${start} ${lines.join(' ')} ${end}`;
}

function indentComment(comment: string, indent: string): string {
  if (/^\n+$/.test(comment)) return comment.substring(1);
  return indent ? comment.replace(/^(?! *$)/gm, indent) : comment;
}
