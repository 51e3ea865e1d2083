/**
 * yaml-emit.ts lays out the desired-state YAML without the `yaml` library's generic stringifier: its
 * text must be the library's `Document.toString`, byte for byte, for every model (pull output is
 * byte-stable across versions, and committed files must not churn). Compared here on the full model,
 * on every desired state of the repository, and on models whose strings are built to trip YAML.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { parseDesiredState } from '../../../src/desired/index.js';
import { writeDesiredState, writeDesiredStateFiles } from '../../../src/desired/write.js';
import { emitYaml, Unsupported, type YamlMap } from '../../../src/desired/yaml-emit.js';
import type { DatabaseModel } from '../../../src/model/types.js';
import { FULL_MODEL } from './full-model.js';

const root = path.resolve(import.meta.dirname, '../../..');

function same(model: DatabaseModel, name: string): void {
  for (const schemaPath of [undefined, '', 'schemas/x.json']) {
    const options = schemaPath === undefined ? {} : { schemaPath };
    const library = writeDesiredState(model, { ...options, writer: 'library' });
    // `emit` never falls back to the library: what is compared is really yaml-emit.ts's text.
    expect(writeDesiredState(model, { ...options, writer: 'emit' }), name).toBe(library);
    expect(writeDesiredState(model, options), name).toBe(library);
  }
  const a = writeDesiredStateFiles(model, { writer: 'emit' });
  const b = writeDesiredStateFiles(model, { writer: 'library' });
  expect([...a.entries()], name).toEqual([...b.entries()]);
}

/** The models of every desired state of the repository (files, and the acceptance cases' inline ones) that loads. */
function repositoryModels(): { name: string; model: DatabaseModel }[] {
  const files = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '');
  const texts: { name: string; text: string }[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(root, f), 'utf8');
    texts.push({ name: f, text });
    if (!f.startsWith('test/acceptance/cases/')) continue;
    for (const c of YAML.parse(text) as { name: string; desired?: unknown }[]) {
      if (typeof c.desired === 'string') texts.push({ name: `${f}: ${c.name}`, text: c.desired });
    }
  }
  const out: { name: string; model: DatabaseModel }[] = [];
  for (const { name, text } of texts) {
    try {
      out.push({ name, model: parseDesiredState(text, 'schema.yaml').model });
    } catch {
      // Not a desired state (a plan, a workflow, a case file), or one with a file: reference.
    }
  }
  return out;
}

/** Strings that YAML quotes, escapes or writes as blocks in every way it can. */
const TRICKY = [
  '',
  ' ',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'null',
  '~',
  'true',
  '0777',
  '0x1F',
  '1e3',
  '.5',
  '-.inf',
  '.NaN',
  '2024-10-01',
  '2024-10-01 12:00:00',
  '12:30',
  '1_000',
  'a: b',
  'a #b',
  '#x',
  '- x',
  '-',
  '?',
  '? x',
  '---',
  '--- x',
  '...',
  '%YAML',
  'x\n---\ny',
  '@x',
  '`x`',
  '!x',
  '&x',
  '*x',
  '|x',
  '>x',
  '[x]',
  '{x}',
  'a, b',
  "it's",
  'say "hi"',
  `both ' and "`,
  'trailing ',
  ' leading',
  'tab\there',
  'line\nbreak',
  'line\n\nbreaks\n',
  'ends with newline\n',
  'ends with two\n\n',
  '\nstarts with newline',
  '  indented\nblock',
  'space before \nnewline',
  'bell\u0007',
  'nul\u0000',
  'del\u007f',
  'nbsp\u00a0',
  'ls\u2028',
  'surrogate \ud800',
  'émoji 🐘',
  'x:',
  'x :y',
  "'quoted'",
  '"dq"',
  'a\\b',
  '0',
  '-1',
  '+1',
  '1.0',
  '3.14159',
  'BEGIN\n  RETURN 1;\nEND',
  '$$ body $$',
  'SELECT 1 -- c',
];

/** A model whose every comment, default and body is one of TRICKY, as a seeded walk picks them. */
function trickyModel(seed: number): DatabaseModel {
  let s = seed;
  const pick = (): string => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return TRICKY[s % TRICKY.length]!;
  };
  const walk = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    if (typeof v === 'string' && /^(comment|default|body|definition|expression|using|withCheck|where)$/.test(key)) {
      return pick();
    }
    return v;
  };
  return walk(FULL_MODEL, '') as DatabaseModel;
}

describe('yaml-emit writes what the yaml library writes', () => {
  test('the full model', () => {
    same(FULL_MODEL, 'FULL_MODEL');
  });

  test('every desired state of the repository', () => {
    const models = repositoryModels();
    expect(models.length).toBeGreaterThan(100);
    for (const { name, model } of models) same(model, name);
  });

  test('models whose strings are built to trip YAML', () => {
    for (let seed = 1; seed <= 200; seed++) same(trickyModel(seed), `tricky model ${seed}`);
  });
});

describe('yaml-emit refuses what it does not lay out', () => {
  test('a key over 1,024 characters (the library writes `? key`): Unsupported, and write.ts then uses the library', () => {
    const long = 'c'.repeat(1100);
    const model: DatabaseModel = {
      ...FULL_MODEL,
      schemas: FULL_MODEL.schemas.map((s, i) =>
        i > 0
          ? s
          : {
              ...s,
              tables: s.tables.map((t, j) =>
                j > 0 ? t : { ...t, columns: t.columns.map((c, k) => (k > 0 ? c : { ...c, name: long })) },
              ),
            },
      ),
    };
    expect(() => writeDesiredState(model, { writer: 'emit' })).toThrow(Unsupported);
    const library = writeDesiredState(model, { writer: 'library' });
    expect(library).toContain(`? ${long}`);
    expect(writeDesiredState(model)).toBe(library);
    const root: YamlMap = { kind: 'map', flow: false, items: [{ key: 'k', value: 'v', spaceBefore: false }] };
    expect(emitYaml(root)).toBe('k: v\n');
  });
});
