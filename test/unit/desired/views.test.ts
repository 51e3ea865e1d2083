/**
 * Views and materialized views in the desired state: the query inline or in a file, the errors of
 * both (each at its file:line with its document path), and what the loader makes of them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DesiredStateError, loadDesiredState, parseDesiredState } from '../../../src/desired/index.js';
import { desiredSha256 } from '../../../src/workflow/plan.js';

const doc = (...lines: string[]) =>
  ['version: 1', 'schemas:', '  public:', ...lines.map((l) => `    ${l}`), ''].join('\n');

function issues(text: string): { line: number; column: number; path: string; message: string }[] {
  try {
    parseDesiredState(text, 'schema.yaml');
  } catch (e) {
    if (e instanceof DesiredStateError)
      return e.issues.map(({ line, column, path, message }) => ({ line, column, path, message }));
    throw e;
  }
  throw new Error('expected the document to be rejected');
}

describe('views in the desired state', () => {
  test('an inline query, options and comments load into the model; the query loses its blanks and final semicolon', () => {
    const { model } = parseDesiredState(
      doc(
        'views:',
        '  active:',
        '    definition: |',
        '      SELECT id, name',
        '        FROM customer;',
        '    securityBarrier: true',
        '    checkOption: cascaded',
        '    comment: who can order',
        '    columns:',
        '      name: { comment: full name }',
        'materializedViews:',
        '  totals:',
        '    definition: SELECT count(*) AS n FROM customer',
        '    withData: false',
        '    with: { fillfactor: 70 }',
        '    indexes:',
        '      totals_n: { columns: [n], unique: true }',
      ),
      'schema.yaml',
    );
    const s = model.schemas[0]!;
    expect(s.views).toEqual([
      {
        kind: 'view',
        schema: 'public',
        name: 'active',
        definition: 'SELECT id, name\n  FROM customer',
        columns: [{ name: 'name', comment: 'full name' }],
        securityBarrier: true,
        securityInvoker: false,
        checkOption: 'cascaded',
        comment: 'who can order',
      },
    ]);
    expect(s.materializedViews).toEqual([
      {
        kind: 'materializedView',
        schema: 'public',
        name: 'totals',
        definition: 'SELECT count(*) AS n FROM customer',
        columns: [],
        withData: false,
        with: { fillfactor: '70' },
        indexes: [
          {
            kind: 'index',
            name: 'totals_n',
            unique: true,
            method: 'btree',
            keys: [{ column: 'n', descending: false }],
            include: [],
            nullsNotDistinct: false,
            valid: true,
          },
        ],
      },
    ]);
  });

  test.each([
    [
      'both definition and file',
      doc('views:', '  v:', '    definition: SELECT 1', '    file: v.sql'),
      [
        {
          line: 7,
          column: 9,
          path: 'schemas.public.views.v.file',
          message: 'a view has `definition` or `file`, not both',
        },
      ],
    ],
    [
      'neither',
      doc('views:', '  v:', '    comment: no query'),
      [
        {
          line: 5,
          column: 7,
          path: 'schemas.public.views.v',
          message: 'a view needs its query: `definition` (SQL) or `file` (a .sql file)',
        },
      ],
    ],
    [
      'an empty query',
      doc('materializedViews:', '  m:', "    definition: ' '"),
      [{ line: 6, column: 21, path: 'schemas.public.materializedViews.m.definition', message: 'must not be empty' }],
    ],
    [
      'a check option PostgreSQL does not have',
      doc('views:', '  v:', '    definition: SELECT 1', '    checkOption: strict'),
      [
        {
          line: 7,
          column: 22,
          path: 'schemas.public.views.v.checkOption',
          message: 'expected one of `local`, `cascaded`, got string "strict"',
        },
      ],
    ],
    [
      'a view named like a table (they share a namespace)',
      doc('tables:', '  t:', '    columns: { id: { type: integer } }', 'views:', '  t:', '    definition: SELECT 1'),
      [
        {
          line: 8,
          column: 7,
          path: 'schemas.public.views.t',
          message:
            'view `public.t` has the same name as the table at schema.yaml:5:7; enums, domains, composite types, tables and views',
        },
        {
          line: 8,
          column: 7,
          path: 'schemas.public.views.t',
          message:
            'view `public.t` has the same name as the table at schema.yaml:5:7; tables, partitions, sequences, views',
        },
      ],
    ],
  ])('%s is an error at its line', (_name, text, expected) => {
    expect(issues(text)).toEqual(expected.map((e) => ({ ...e, message: expect.stringContaining(e.message) })));
  });
});

describe('the query in a file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-views-'));
    await mkdir(path.join(dir, 'public', 'views'), { recursive: true });
    await writeFile(path.join(dir, 'public', 'views', 'v.sql'), '-- the active ones\nSELECT 1 AS one;\n\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('is read relative to the YAML file that names it; the sha256 of the input covers it', async () => {
    const yaml = path.join(dir, 'public.yaml');
    await writeFile(yaml, doc('views:', '  v:', '    file: public/views/v.sql'));
    const loaded = await loadDesiredState(dir);
    expect(loaded.model.schemas[0]?.views[0]?.definition).toBe('-- the active ones\nSELECT 1 AS one');
    expect(loaded.sqlFiles).toEqual([path.join(dir, 'public', 'views', 'v.sql')]);
    const before = await desiredSha256(dir, loaded.sqlFiles);
    expect(before).not.toBe(await desiredSha256(dir));
    await writeFile(path.join(dir, 'public', 'views', 'v.sql'), 'SELECT 2 AS one;\n');
    expect(await desiredSha256(dir, loaded.sqlFiles)).not.toBe(before);
  });

  test('a file that is not there is an error at the `file:` line, naming the path', async () => {
    const yaml = path.join(dir, 'missing.yaml');
    await writeFile(yaml, doc('views:', '  w:', '    file: public/views/nope.sql'));
    const err = await loadDesiredState(yaml).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DesiredStateError);
    expect((err as DesiredStateError).issues).toEqual([
      {
        file: yaml,
        line: 6,
        column: 15,
        path: 'schemas.public.views.w.file',
        message: `cannot read \`public/views/nope.sql\` (${path.join(dir, 'public', 'views', 'nope.sql')}): no such file`,
      },
    ]);
  });
});
