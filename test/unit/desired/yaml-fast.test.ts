import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { parseDesiredState } from '../../../src/desired/index.js';
import { writeDesiredState } from '../../../src/desired/write.js';
import { type ParsedDocument, parseLocated, parseYaml } from '../../../src/desired/yaml-doc.js';
import { parseYamlFast } from '../../../src/desired/yaml-fast.js';
import type { PathSegment } from '../../../src/model/paths.js';
import { FULL_MODEL } from './full-model.js';

const root = path.resolve(import.meta.dirname, '../../..');

/** What a parsed document says about itself: every map's keys in written order, every scalar's text. */
function tree(doc: ParsedDocument, segments: PathSegment[], value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v, i) => tree(doc, [...segments, i], v));
  if (value !== null && typeof value === 'object') {
    return doc.keys(segments).map((k) => [k, tree(doc, [...segments, k], (value as Record<string, unknown>)[k])]);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return [value, doc.scalarText(segments, value)];
  return value;
}

/** Whether the fast path took the text; when it did, it must read what the document model reads. */
function agrees(text: string): boolean {
  const fast = parseYamlFast(text);
  if (fast === undefined) return false;
  const full = parseLocated(text, 'f.yaml');
  expect(full.issues, `the yaml library rejects what the fast path took:\n${text}`).toEqual([]);
  const doc = parseYaml(text, 'f.yaml').document!;
  const located = full.document!;
  expect(tree(doc, [], doc.value), text).toEqual(tree(located, [], located.value));
  return true;
}

/** Every YAML file in the repository, and the desired states the acceptance cases write inline. */
function corpus(): { name: string; text: string }[] {
  const files = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '');
  const out: { name: string; text: string }[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(root, f), 'utf8');
    out.push({ name: f, text });
    if (!f.startsWith('test/acceptance/cases/')) continue;
    const cases = YAML.parse(text) as { name: string; desired?: unknown }[];
    for (const c of cases) {
      if (typeof c.desired === 'string') out.push({ name: `${f}: ${c.name}`, text: c.desired });
    }
  }
  return out;
}

describe('the fast YAML path', () => {
  test('reads every YAML file of the repository as the yaml library does, or leaves it to it', () => {
    const all = corpus();
    const taken = all.filter((c) => agrees(c.text));
    expect(all.length).toBeGreaterThan(100);
    // Most desired states are plain enough for it: the fast path is really in use.
    expect(taken.length).toBeGreaterThan(all.length / 2);
  });

  test('reads the YAML of the repository with random edits as the yaml library does, or leaves it to it', () => {
    const texts = corpus().map((c) => c.text);
    // A fixed seed: the same edits on every run.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [':', ' ', '#', '-', '"', "'", ',', '{', '}', '[', ']', '(', ')', '\n', '  ', '|', '|-', '\\'];
    pieces.push('~', ': ', '- ', ' #', '\n  ', '\n- ', 'null', 'true', '1', '.', 'e', '"\\u00e9"', '\t', '&', '!');
    let taken = 0;
    for (let n = 0; n < 600; n++) {
      let text = texts[next(texts.length)]!;
      for (let e = 1 + next(3); e > 0; e--) {
        const at = next(text.length + 1);
        const piece = pieces[next(pieces.length)]!;
        text =
          next(2) === 0 ? text.slice(0, at) + piece + text.slice(at) : text.slice(0, at) + text.slice(at + 1 + next(3));
      }
      if (agrees(text)) taken++;
    }
    expect(taken).toBeGreaterThan(100);
  });

  test('reads what zdm pull writes, every kind of object, without the document model', () => {
    const text = writeDesiredState(FULL_MODEL);
    expect(agrees(text)).toBe(true);
  });

  test.each([
    [
      'plain scalars of every type',
      'a: 1\nb: -2\nc: 0.50\nd: 1e3\ne: true\nf: False\ng: null\nh: ~\ni: 0x1F\nj: 0o17\nk: .inf\nl: -.Inf\nm: .nan\nn: 12345678901234567890\no: +5\np: 1_000\nq: yes\n',
    ],
    [
      'keys that look like other things',
      '"1e3": a\n"null": b\n2: c\n1: d\n"~": e\nyes: f\n__proto__: g\n"a b": h\n\'it\'\'s\': i\n',
    ],
    ['keys JavaScript reorders', 'b: 1\n10: 2\n2: 3\na: { z: 1, 3: 2, "1": 3 }\n'],
    ['flow collections', 'a: { b: [1, "2", \'3\'], c: {}, d: [] }\nb: [ { x: y }, [ z ] ]\n'],
    [
      'comments everywhere',
      '# head\na: 1 # one\n# between\nb:   # nothing yet\n  c: d#not a comment\n  e: "x" # q\n  f: [1] # f\n',
    ],
    ['lists in every position', 'a:\n- 1\n- b: 2\n  c: 3\n-\n  d: 4\n- [5]\nb:\n  - x\n  -   y\n'],
    [
      'double-quoted escapes',
      'a: "tab\\there \\"q\\" back\\\\slash \\u00e9 \\x41 \\/ \\n"\nb: \'single \'\' quote\'\n',
    ],
    [
      'literal blocks',
      'a: |\n  line 1\n\n    indented\n  last\nb: |-\n  stripped\n  \nc:\n  d: |\n    x\n   # after\n  e: 1\n',
    ],
    ['literal block with trailing blank lines', 'a: |\n  x\n\n\nb: |-\n  y\n\n'],
    ['literal block with leading blank lines', 'a: |\n\n  \n  x\nb: |-\n \n  y\n'],
    [
      'SQL in flow maps',
      "a: { type: numeric(10, 2), default: coalesce(1, 2, 3), b: f('a,b', 2) }\nb: [lower(a, b), c]\nc: { w: ((status)::text = 'active'::text), u: http://x }\n",
    ],
    ['plain text with YAML characters inside', 'a: int[]\nb: a{b}c\nc: x:y\nd: "a: b"\ne: -x\nf: a - b\ng: <<\n'],
    ['non-ASCII', 'ünï: é\n"Mood Ü": []\n'],
  ])('%s: read as the yaml library reads it', (_name, text) => {
    expect(agrees(text)).toBe(true);
  });

  test.each([
    ['anchors and aliases', 'a: &x 1\nb: *x\n'],
    ['tags', 'a: !!str 1\n'],
    ['a directive', '%YAML 1.1\n---\na: yes\n'],
    ['several documents', 'a: 1\n---\nb: 2\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line flow map', 'a: { b: 1,\n  c: 2 }\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['a folded block', 'a: >\n  x\n'],
    ['a keep-chomping block', 'a: |+\n  x\n'],
    ['an indentation indicator', 'a: |2\n   x\n'],
    ['a tab', 'a:\n\tb: 1\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a duplicate key in a flow map', 'a: { b: 1, b: 2 }\n'],
    ['an unclosed flow map', 'a: { b: 1\n'],
    ['a trailing comma', 'a: [1, 2, ]\n'],
    ['a key without a value in a flow map', 'a: { b, c: 1 }\n'],
    ['parentheses left open', 'a: { b: f(1, 2 }\n'],
    ['a nested mapping on one line', 'a: b: c\n'],
    ['a scalar document', 'just text\n'],
    ['an empty document', '# nothing\n'],
    ['an explicit key', '? a\n: b\n'],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n'],
    ['a list after a value at the same indentation', 'a: 1\n- b\n'],
    ['a literal block at the end of the file without a newline', 'a: |\n  x'],
    ['a leading blank line longer than the indentation', 'a: |\n    \n  x\n'],
    ['a trailing line of spaces longer than the indentation', 'a: |\n  x\n      \nb: 1\n'],
  ])('%s: left to the yaml library', (_name, text) => {
    expect(parseYamlFast(text)).toBeUndefined();
  });

  test('a document read on the fast path still locates its errors at file:line:column', () => {
    const text =
      'version: 1\nschemas:\n  public:\n    tables:\n      t:\n        columns:\n          a: { type: text, bogus: 1 }\n';
    expect(parseYamlFast(text)).toBeDefined();
    expect(() => parseDesiredState(text, 'schema.yaml')).toThrow(/schema\.yaml:7:28/);
  });

  // A large file's text is held deflated until a position is asked for (yaml-doc.ts TextLocator).
  const bigDoc = (extra: string) => {
    const tables = Array.from(
      { length: 1500 },
      (_, i) =>
        `      t${i}:\n        columns:\n          id: { type: bigint, nullable: false }\n          note: { type: text }\n`,
    );
    return `version: 1\nschemas:\n  public:\n    tables:\n${tables.join('')}      last:\n        columns:\n${extra}`;
  };

  test('a large document read on the fast path locates an error of its own at file:line:column', () => {
    const text = bigDoc('          a: { type: text, bogus: 1 }\n');
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(parseYamlFast(text)).toBeDefined();
    const line = text.split('\n').length - 1;
    expect(() => parseDesiredState(text, 'big.yaml')).toThrow(new RegExp(`big\\.yaml:${line}:28`));
  });

  test('a large document read on the fast path locates what later stages ask for', () => {
    const text = bigDoc('          a: { type: text }\n');
    const { sources } = parseDesiredState(text, 'big.yaml');
    expect(sources.get('schemas.public.tables.last.columns.a')).toEqual({
      file: 'big.yaml',
      line: text.split('\n').length - 1,
      column: 11,
    });
    expect(sources.get('schemas.public.tables.t1499.columns.note')).toEqual({
      file: 'big.yaml',
      line: 4 + 1499 * 4 + 4,
      column: 11,
    });
  });
});
