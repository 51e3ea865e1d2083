/**
 * differingParts (src/model/differing.ts): the schema diff `zdm plan` prints is written from the
 * objects that differ only. Its changed lines are those of the diff of the two whole models, over
 * every model case of the acceptance cases; an object both models have alike is not written.
 */
import { describe, expect, test } from 'vitest';
import { parseDesiredState } from '../../../src/desired/index.js';
import { writeDesiredState } from '../../../src/desired/write.js';
import { differingParts } from '../../../src/model/differing.js';
import type { DatabaseModel, Table } from '../../../src/model/types.js';
import { schemaDiff } from '../../../src/render/schema-diff.js';
import { loadCases, modelCases } from '../../acceptance/cases.js';

const yaml = (m: DatabaseModel) => writeDesiredState(m, { schemaPath: '' });

/** The added and removed lines of a unified diff, sorted; blank lines and collection keys left out. */
function changedLines(diff: string): string[] {
  return diff
    .split('\n')
    .filter(
      (l) => /^[+-]/.test(l) && !/^(---|\+\+\+) /.test(l) && !/^[+-]\s*$/.test(l) && !/^[+-] *[A-Za-z]+:$/.test(l),
    )
    .sort();
}

function reducedDiff(live: DatabaseModel, desired: DatabaseModel): string {
  const p = differingParts(live, desired);
  return schemaDiff(yaml(p.a), yaml(p.b));
}

describe('differingParts', () => {
  const cases = modelCases(loadCases());
  test.for(cases.map((c) => [c.id, c] as const))('%s: the changed lines of the whole-model diff', ([, c]) => {
    const live = parseDesiredState(c.live, `${c.id} live`).model;
    const desired = parseDesiredState(c.desired, `${c.id} desired`).model;
    expect(changedLines(reducedDiff(live, desired))).toEqual(changedLines(schemaDiff(yaml(live), yaml(desired))));
  });

  const doc = (tables: number, extra: (i: number) => string) =>
    parseDesiredState(
      [
        'version: 1',
        'schemas:',
        '  public:',
        '    tables:',
        ...Array.from({ length: tables }, (_, i) => [
          `      t${i}:`,
          '        columns:',
          '          id: { type: bigint, nullable: false }',
          `          name: { type: text${extra(i)} }`,
          '        primaryKey: { columns: [id] }',
        ]).flat(),
        '',
      ].join('\n'),
      'doc',
    ).model;

  test('an object both models have alike is not written; one that differs is, whole', () => {
    const live = doc(50, () => '');
    const desired = doc(50, (i) => (i === 17 ? ', nullable: false' : ''));
    const p = differingParts(live, desired);
    const tables = (m: DatabaseModel): Table[] => m.schemas.flatMap((s) => s.tables);
    expect(tables(p.a).map((t) => t.name)).toEqual(['t17']);
    expect(tables(p.b).map((t) => t.name)).toEqual(['t17']);
    const d = reducedDiff(live, desired);
    expect(d).not.toContain('t16:');
    expect(d).not.toContain('t18:');
    expect(changedLines(d)).toEqual([
      '+          name: { type: text, nullable: false }',
      '-          name: { type: text }',
    ]);
  });

  test('what fingerprints leave out but the YAML writes: privileges, column order, owners', () => {
    const live = doc(3, () => '');
    const t1 = (m: DatabaseModel, f: (t: Table) => Table): DatabaseModel => ({
      ...m,
      schemas: m.schemas.map((s) => ({ ...s, tables: s.tables.map((t) => (t.name === 't1' ? f(t) : t)) })),
    });
    const granted = t1(live, (t) => ({ ...t, grants: [{ grantee: 'reader', privilege: 'SELECT' }] }));
    expect(changedLines(reducedDiff(live, granted))).toEqual(['+        grants: { reader: [ SELECT ] }']);
    const reordered = t1(live, (t) => ({ ...t, columns: [...t.columns].reverse() }));
    expect(changedLines(reducedDiff(live, reordered))).toEqual(
      changedLines(schemaDiff(yaml(live), yaml(reordered))).filter((l) => l.length > 0),
    );
    expect(changedLines(reducedDiff(live, reordered)).length).toBeGreaterThan(0);
    const owned = { ...live, owners: { 'table public.t2': 'app' } };
    expect(changedLines(reducedDiff(live, owned))).toEqual(['+        owner: app']);
  });
});
