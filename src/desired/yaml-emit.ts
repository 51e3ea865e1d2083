/**
 * Writing the desired-state YAML without the `yaml` library's generic stringifier.
 *
 * `writeDesiredState` (write.ts) builds a tree of the library's nodes (YAMLMap, YAMLSeq, Scalar,
 * Pair) and used to turn it into text with `Document.toString`. That stringifier is general: for
 * every scalar it looks the value's tag up among the schema's tags, copies its context object per
 * pair and per item, and checks anchors and properties; on a schema of thousands of tables it was
 * most of `zdm pull`'s CPU time after the catalog queries, and of writing the two models a plan's
 * diff shows. This module lays out the same tree for the node shapes write.ts makes (block and flow
 * maps and sequences, string keys, string, number, boolean and null scalars, a comment before a
 * key, a blank line before a key) with the library's own rules, and leaves every scalar string to
 * the library's `stringifyString` (exported by `yaml/util`), so quoting, escaping and block scalars
 * are the library's to the byte. Anything else in the tree (an anchor, a tag, a comment on a value,
 * a collection as a key) throws `Unsupported`, and write.ts falls back to `Document.toString`.
 *
 * The options are those write.ts passes to `toString`: `lineWidth: 0` (nothing is folded),
 * `indent: 2`, `flowCollectionPadding: true`, `doubleQuotedAsJSON: true`, YAML 1.1 (strings that
 * YAML 1.1 readers would take for booleans, numbers or dates are quoted). The test
 * (test/unit/desired/yaml-emit.test.ts) compares its output with `Document.toString` on every YAML
 * file of the repository, the acceptance cases' desired states, and generated models.
 */
import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { stringifyNumber, stringifyString } from 'yaml/util';

/** A node shape this module does not lay out: the caller falls back to the library. */
export class Unsupported extends Error {}

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
export function emitYaml(root: YAMLMap): string {
  schemaDoc ??= new Document(null, { version: '1.1' });
  try {
    return `${emit(root, { indent: '', inFlow: null, implicitKey: false }, undefined, undefined)}\n`;
  } finally {
    written.clear();
  }
}

/** The text of each one-line string scalar already written in this document, by context (emitScalar). */
const written = new Map<string, string>();

function emit(node: unknown, ctx: Ctx, onComment: Callback, onChompKeep: Callback): string {
  if (isPair(node)) return emitPair(node, ctx, onComment, onChompKeep);
  if (isScalar(node)) return emitScalar(node, ctx, onComment, onChompKeep);
  if (isMap(node)) return emitCollection(node, ctx, '', '{', '}', ctx.indent, onComment, onChompKeep);
  if (isSeq(node)) return emitCollection(node, ctx, '- ', '[', ']', `${ctx.indent}  `, onComment, onChompKeep);
  throw new Unsupported('not a map, sequence, pair or scalar');
}

function checkPlain(node: Node): void {
  if (node.anchor || node.tag || node.comment) throw new Unsupported('anchor, tag or comment');
}

function emitScalar(node: Scalar, ctx: Ctx, onComment: Callback, onChompKeep: Callback): string {
  checkPlain(node);
  const v = node.value;
  if (typeof v === 'string') {
    // A one-line string is written the same at any depth (nothing is folded at lineWidth 0), save
    // a document marker (`---`, `%`) on a top-level key or at the root: the text is kept per
    // context, and most strings of a schema (types, column names, `nullable`) come back many times.
    const cacheable = !v.includes('\n');
    const key = cacheable
      ? `${ctx.implicitKey ? 'k' : 'v'}${ctx.inFlow ? 'f' : 'b'}${ctx.indent === '' ? 0 : ctx.indent === INDENT_STEP ? 1 : 2}${node.type ?? ''}:${v}`
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
    const out = stringifyString(node as Scalar<string>, full as never, onComment, onChompKeep);
    if (full.forceBlockIndent) ctx.forceBlockIndent = true;
    if (cacheable) written.set(key, out);
    return out;
  }
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : stringifyNumber(node as never);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  throw new Unsupported(`a ${typeof v} scalar`);
}

function emitPair(pair: Pair, ctx: Ctx, _onComment: Callback, onChompKeep: Callback): string {
  const { key, value } = pair;
  if (!isScalar(key) || typeof key.value !== 'string') throw new Unsupported('a key that is not a string');
  if (key.comment || key.type === Scalar.BLOCK_FOLDED || key.type === Scalar.BLOCK_LITERAL) {
    throw new Unsupported('a key with a comment, or a block key');
  }
  if (value === null || value === undefined) throw new Unsupported('a pair without a value');
  const indent = ctx.indent + INDENT_STEP;
  let str = emitScalar(key, { indent, inFlow: ctx.inFlow, implicitKey: true }, undefined, undefined);
  if (!ctx.inFlow && str.length > 1024) throw new Unsupported('a key over 1024 characters');
  str = `${str}:`;
  const v = value as Node;
  checkPlain(v);
  if (v.spaceBefore || v.commentBefore) throw new Unsupported('space or comment before a value');
  let chompKeep = false;
  const valueCtx: Ctx = {
    indent,
    inFlow: ctx.inFlow,
    implicitKey: false,
    ...(isScalar(v) ? { indentAtStart: str.length + 1 } : {}),
  };
  const valueStr = emit(v, valueCtx, undefined, () => {
    chompKeep = true;
  });
  let ws = ' ';
  if (isMap(v) || isSeq(v)) {
    const flow = ctx.inFlow ?? v.flow ?? v.items.length === 0;
    if (valueStr.includes('\n') || !flow) ws = `\n${indent}`;
  } else if (valueStr === '' || valueStr[0] === '\n') {
    ws = '';
  }
  str += ws + valueStr;
  if (!ctx.inFlow && chompKeep && onChompKeep) onChompKeep();
  return str;
}

function emitCollection(
  collection: YAMLMap | YAMLSeq,
  ctx: Ctx,
  blockItemPrefix: string,
  start: string,
  end: string,
  itemIndent: string,
  onComment: Callback,
  onChompKeep: Callback,
): string {
  checkPlain(collection as Node);
  const isMapNode = isMap(collection);
  if (isMapNode) {
    for (const item of collection.items) if (!isPair(item)) throw new Unsupported('a map item that is not a pair');
  }
  const flow = ctx.inFlow ?? collection.flow ?? false;
  return flow
    ? emitFlow(collection, ctx, start, end, itemIndent)
    : emitBlock(collection, ctx, blockItemPrefix, start, end, itemIndent, onComment, onChompKeep);
}

function emitBlock(
  collection: YAMLMap | YAMLSeq,
  ctx: Ctx,
  blockItemPrefix: string,
  start: string,
  end: string,
  itemIndent: string,
  _onComment: Callback,
  onChompKeep: Callback,
): string {
  const itemCtx: Ctx = { indent: itemIndent, inFlow: ctx.inFlow, implicitKey: ctx.implicitKey };
  let chompKeep = false;
  const lines: string[] = [];
  for (const item of collection.items) {
    if (isPair(item)) {
      const k = item.key as Node;
      if (!chompKeep && k.spaceBefore) lines.push('');
      if (k.commentBefore) {
        let c = k.commentBefore;
        if (chompKeep) c = c.replace(/^\n+/, '');
        if (c) lines.push(indentComment(OPTIONS.commentString(c), ctx.indent).trimStart());
      }
    } else {
      const n = item as Node;
      if (n.comment) throw new Unsupported('a comment on an item');
      if (!chompKeep && n.spaceBefore) lines.push('');
      if (n.commentBefore) throw new Unsupported('a comment before an item');
    }
    chompKeep = false;
    const str = emit(item, itemCtx, undefined, () => {
      chompKeep = true;
    });
    lines.push(blockItemPrefix + str);
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

function emitFlow(collection: YAMLMap | YAMLSeq, ctx: Ctx, start: string, end: string, itemIndent: string): string {
  const indent = itemIndent + INDENT_STEP;
  const itemCtx: Ctx = { indent, inFlow: true, implicitKey: ctx.implicitKey };
  let reqNewline = false;
  const lines: string[] = [];
  const items = collection.items;
  for (let i = 0; i < items.length; ++i) {
    const item = items[i];
    if (isPair(item)) {
      const k = item.key as Node;
      if (k.spaceBefore || k.commentBefore || k.comment) throw new Unsupported('space or comment in a flow map');
    } else {
      const n = item as Node;
      if (n.spaceBefore || n.commentBefore || n.comment) throw new Unsupported('space or comment in a flow sequence');
    }
    let str = emit(item, itemCtx, undefined, undefined);
    reqNewline ||= str.includes('\n');
    if (i < items.length - 1) str += ',';
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
