import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  canonicalizeForHash,
  canonicalText,
  fingerprint,
  modelsEqual,
  sha256,
  stableStringify,
  tablesEqual,
  textWithout,
} from '../../../src/model/canonical.js';
import { objectFingerprints, objectKey } from '../../../src/model/objects.js';
import type { DatabaseModel, Table } from '../../../src/model/types.js';
import { changedTables } from '../../../src/workflow/plan.js';
import { FULL_MODEL } from '../desired/full-model.js';
import { col as column, table, tables } from '../plan/builders.js';

const col = (name: string, type = 'integer', opts: Parameters<typeof column>[2] = {}) => column(name, type, opts);

/** The first implementation, kept as the specification of the bytes fingerprints hash. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
}

const model = (ts: Table[]): DatabaseModel => tables(...ts);

describe('stableStringify', () => {
  it.each([
    ['scalars', [1, 'a', true, null, 1.5, -0, '"quoted"\n']],
    ['undefined members', { a: undefined, b: [undefined, null, 1], c: { d: undefined } }],
    ['key order by UTF-16 code units', { b: 1, a: 2, B: 3, é: 4, '10': 5, '9': 6, _: 7, 'a b': 8 }],
    ['nesting', { z: [{ y: [[], {}], x: 'x' }], a: { c: { b: [1, [2, [3]]] } } }],
    ['empty', [{}, [], '']],
  ])('prints %s as the specification does', (_, value) => {
    expect(stableStringify(value)).toBe(reference(value));
  });
});

describe('textWithout', () => {
  it('is stableStringify of the object without the keys named', () => {
    const o = { z: [1, { y: 2, x: undefined }], comment: 'c', a: null, enabled: 'always', u: undefined };
    const { comment: _c, enabled: _e, ...rest } = o;
    expect(textWithout('comment', 'enabled')(o)).toBe(reference(rest));
    expect(textWithout()(o)).toBe(reference(o));
  });
});

describe('tablesEqual', () => {
  const t = table('t', [col('a'), col('b', 'text')], {
    checks: [
      { kind: 'check', name: 'c2', expression: 'a > 1', valid: true, noInherit: false },
      { kind: 'check', name: 'c1', expression: 'a > 0', valid: true, noInherit: false },
    ],
  });

  it('ignores column and constraint order and desired-only directives', () => {
    const same = {
      ...t,
      columns: [col('b', 'text', { renamedFrom: 'x' }), col('a', 'integer', { using: 'a::integer' })],
      checks: [...t.checks].reverse(),
    };
    expect(tablesEqual(t, same)).toBe(true);
  });

  it('sees a changed type, expression or new column', () => {
    expect(tablesEqual(t, { ...t, columns: [col('a', 'bigint'), col('b', 'text')] })).toBe(false);
    expect(tablesEqual(t, { ...t, checks: [{ ...t.checks[0]!, expression: 'a > 2' }, t.checks[1]!] })).toBe(false);
    expect(tablesEqual(t, { ...t, columns: [...t.columns, col('c')] })).toBe(false);
  });
});

describe('fingerprints of the same model object', () => {
  it('are computed once and stay equal to those of an equal copy', () => {
    const m = model([table('t', [col('a')])]);
    const copy = structuredClone(m);
    expect(fingerprint(m)).toBe(fingerprint(copy));
    expect(modelsEqual(m, copy)).toBe(true);
    expect(modelsEqual(m, model([table('t', [col('a', 'bigint')])]))).toBe(false);
    // A caller that changes the returned record does not change what the next caller gets.
    const first = objectFingerprints(m);
    first['table public.t'] = 'tampered';
    expect(objectFingerprints(m)['table public.t']).toBe(objectFingerprints(copy)['table public.t']);
  });
});

describe('the hashed form of a model (each table written once, from its memoized text)', () => {
  it('is byte for byte the canonical model, and each table fingerprint that of its canonical table', () => {
    const m = structuredClone(FULL_MODEL);
    const canonical = canonicalize(m);
    expect(stableStringify(canonicalizeForHash(m))).toBe(reference(canonical));
    const fingerprints = objectFingerprints(m);
    const tableKeys = canonical.schemas.flatMap((s) =>
      s.tables.map((t) => [objectKey('table', s.name, t.name), t] as const),
    );
    expect(tableKeys.length).toBeGreaterThan(3);
    for (const [key, t] of tableKeys) expect(fingerprints[key], key).toBe(sha256(reference(t)));
  });
});

describe('fingerprint', () => {
  it('is the sha256 of the canonical text, hashed in chunks as it is written', () => {
    // Enough tables for many chunks, and text outside ASCII on chunk boundaries' both sides.
    const m = model(
      Array.from({ length: 400 }, (_, i) =>
        table(`t${i}`, [col('a'), col(`é${i}`, 'text', { comment: `😀 ${'ü'.repeat(i % 7)}` })]),
      ),
    );
    const text = canonicalText(m);
    expect(text.length).toBeGreaterThan(50_000);
    expect(fingerprint(m)).toBe(sha256(text));
    expect(fingerprint(structuredClone(FULL_MODEL))).toBe(sha256(canonicalText(FULL_MODEL)));
  });
});

describe('changedTables', () => {
  it('lists the live tables the desired state changes or drops, not the ones it keeps', () => {
    const live = model([table('kept', [col('a')]), table('altered', [col('a')]), table('dropped', [col('a')])]);
    const desired = model([
      table('kept', [col('a')]),
      table('altered', [col('a'), col('b')]),
      table('added', [col('a')]),
    ]);
    expect(changedTables(live, desired)).toEqual([
      { schema: 'public', name: 'altered' },
      { schema: 'public', name: 'dropped' },
    ]);
  });
});
