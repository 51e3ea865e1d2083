import { describe, expect, test } from 'vitest';
import { diffModels } from '../../../src/diff/index.js';
import type { Grant, Table } from '../../../src/model/types.js';
import { col, db, id, schema, sequence, table, tables } from '../plan/builders.js';

const select = (grantee: string, grantable = false): Grant => ({
  grantee,
  privilege: 'SELECT',
  ...(grantable ? { grantable: true as const } : {}),
});
const withGrants = (t: Table, grants?: readonly Grant[], body?: readonly Grant[]): Table => ({
  ...t,
  ...(grants !== undefined ? { grants } : {}),
  columns: t.columns.map((c) => (c.name === 'body' && body !== undefined ? { ...c, grants: body } : c)),
});
const report = table('report', [id(), col('body', 'text')]);
const grantChanges = (live: Table, desired: Table) =>
  diffModels(tables(live), tables(desired)).filter((c) => c.kind === 'changeGrants');

describe('privileges in the diff', () => {
  test('a desired table without `grants` leaves the live privileges alone (unmanaged)', () => {
    expect(grantChanges(withGrants(report, [select('app')], [select('other')]), report)).toEqual([]);
  });

  test('`grants: []` revokes every live privilege of the table and of its columns (none)', () => {
    expect(grantChanges(withGrants(report, [select('app')], [select('other')]), withGrants(report, []))).toEqual([
      expect.objectContaining({
        on: { kind: 'table', schema: 'public', name: 'report' },
        grant: [],
        revoke: [select('app')],
      }),
      expect.objectContaining({
        on: { kind: 'column', schema: 'public', name: 'report', column: 'body' },
        grant: [],
        revoke: [select('other')],
      }),
    ]);
  });

  test('a grant option added is a grant; removed, a revoke of the option alone', () => {
    const [add] = grantChanges(withGrants(report, [select('app')]), withGrants(report, [select('app', true)]));
    expect(add).toMatchObject({ grant: [select('app', true)], revoke: [], revokeOption: [] });
    const [drop] = grantChanges(withGrants(report, [select('app', true)]), withGrants(report, [select('app')]));
    expect(drop).toMatchObject({ grant: [], revoke: [], revokeOption: [select('app', true)] });
  });

  test('a live sequence with its privileges listed and a desired one without `grants` are the same sequence', () => {
    // Rehearsal found it: the live model lists every sequence's privileges (none: []), and the
    // sequence diff compared them as a property, so an unmanaged sequence was "altered".
    const live = db([schema('public', { sequences: [sequence('invoice_no', { grants: [] })] })]);
    const desired = db([schema('public', { sequences: [sequence('invoice_no')] })]);
    expect(diffModels(live, desired)).toEqual([]);
  });
});
