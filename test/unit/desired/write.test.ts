import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_SCHEMA_PATH,
  loadDesiredState,
  parseDesiredState,
  writeDesiredState,
  writeDesiredStateFiles,
} from '../../../src/desired/index.js';
import type { DatabaseModel, Grant } from '../../../src/model/types.js';
import { col, emptySchema, FULL_MODEL, index, key, table } from './full-model.js';

const EXPECTED_EXAMPLE = `# yaml-language-server: $schema=../schemas/desired-state.schema.json
version: 1
extensions: [ pgcrypto ]
schemas:
  public:
    enums:
      order_status: [ pending, active, shipped ]
    tables:
      customers:
        columns:
          id: { type: uuid, nullable: false, default: gen_random_uuid() }
        primaryKey: { columns: [ id ] }

      orders:
        columns:
          id: { type: uuid, nullable: false }
          customer_id: { type: uuid, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
          status: { type: varchar(20), nullable: false }
          created_at: { type: timestamptz, nullable: false }
        primaryKey: { columns: [ id, created_at ] }
        checks:
          chk_orders_amount_positive: { expression: amount > 0 }
        foreignKeys:
          fk_orders_customer: { columns: [ customer_id ], references: { table: customers, columns: [ id ] }, onDelete: restrict }
        indexes:
          idx_orders_active_recent: { columns: [ customer_id, created_at desc ], where: status = 'active' }
        partitionBy: { strategy: range, columns: [ created_at ] }
        partitions:
          orders_default: { default: true }
          orders_p2024q4: { from: [ '2024-10-01' ], to: [ '2025-01-01' ] }

      users:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          display_name: { type: varchar(200), nullable: false, renamedFrom: name }
          verified_at: { type: timestamptz, default: now() }
        primaryKey: { columns: [ id ] }
        indexes:
          idx_users_display_name: { columns: [ display_name ] }
`;

describe('writeDesiredState', () => {
  test('the example desired state: sorted, defaults left out, flow style for leaf objects', async () => {
    const { model } = await loadDesiredState('test/fixtures/desired/design/schema.yaml');
    expect(writeDesiredState(model, { schemaPath: '../schemas/desired-state.schema.json' })).toBe(EXPECTED_EXAMPLE);
  });

  test('the schema comment line: a default, a chosen path, or none', () => {
    const empty: DatabaseModel = { kind: 'database', extensions: [], schemas: [] };
    expect(writeDesiredState(empty)).toBe(`# yaml-language-server: $schema=${DEFAULT_SCHEMA_PATH}\nversion: 1\n`);
    expect(writeDesiredState(empty, { schemaPath: 'https://example.com/s.json' })).toBe(
      '# yaml-language-server: $schema=https://example.com/s.json\nversion: 1\n',
    );
    expect(writeDesiredState(empty, { schemaPath: '' })).toBe('version: 1\n');
  });

  test('live-only facts are not written', () => {
    const text = writeDesiredState(FULL_MODEL, { schemaPath: '' });
    expect(text).not.toMatch(/valid:|dependents|v_users|PostgreSQL 18/);
    // A NOT VALID constraint is a desired fact.
    expect(text).toMatch(/chk_price: \{ expression: price >= \(0\)::numeric, noInherit: true, notValid: true \}/);
  });

  test('defaults are left out, other values written', () => {
    const model: DatabaseModel = {
      kind: 'database',
      extensions: [],
      schemas: [
        emptySchema('public', {
          tables: [
            table('public', 't', [col('a', 'integer', { nullable: false }), col('b', 'text')], {
              primaryKey: {
                kind: 'primaryKey',
                name: 't_pkey',
                columns: ['a'],
                include: [],
                deferrable: false,
                initiallyDeferred: false,
              },
              indexes: [
                index('t_b', [key('b')]),
                index('t_b_hash', [key('b', { descending: true })], { method: 'hash' }),
              ],
            }),
          ],
        }),
      ],
    };
    expect(writeDesiredState(model, { schemaPath: '' })).toBe(
      [
        'version: 1',
        'schemas:',
        '  public:',
        '    tables:',
        '      t:',
        '        columns:',
        '          a: { type: integer, nullable: false }',
        '          b: { type: text }',
        '        primaryKey: { columns: [ a ] }',
        '        indexes:',
        '          t_b: { columns: [ b ] }',
        '          t_b_hash: { columns: [ b desc ], using: hash }',
        '',
      ].join('\n'),
    );
  });

  test('strings YAML would read as something else are quoted, and read back unchanged', () => {
    const text = writeDesiredState(FULL_MODEL, { schemaPath: '' });
    for (const line of [
      '"yes": [ "yes", "no", "null", "~", "1e3", "- x", "#x", "true", "0777", "a: b", it\'s, ünï, " padded " ]',
      '"#x":',
      '"- x":',
      '"1e3":',
    ]) {
      expect(text).toContain(line);
    }
    const yes = (m: DatabaseModel) => m.schemas.find((s) => s.name === 'public')?.enums.find((e) => e.name === 'yes');
    expect(yes(parseDesiredState(text, 'x.yaml').model)?.values).toEqual(yes(FULL_MODEL)?.values);
  });
});

describe('writeDesiredStateFiles', () => {
  test('one file per schema, extensions apart, names safe for any file system', () => {
    const model: DatabaseModel = {
      kind: 'database',
      extensions: [{ kind: 'extension', name: 'pgcrypto' }],
      schemas: ['extensions', 'a/b', 'Sales', 'sales', '.hidden', 'ünï'].map((n) => emptySchema(n)),
    };
    const files = writeDesiredStateFiles(model, { schemaPath: '' });
    expect([...files.keys()]).toEqual([
      'extensions.yaml',
      '%2Ehidden.yaml',
      'Sales.yaml',
      'a%2Fb.yaml',
      'extensions-2.yaml',
      'sales-2.yaml',
      'ünï.yaml',
    ]);
    expect(files.get('a%2Fb.yaml')).toBe('version: 1\nschemas:\n  a/b: {}\n');
    expect(files.get('extensions.yaml')).toBe('version: 1\nextensions: [ pgcrypto ]\n');
  });

  test('a model with nothing in it is still one loadable file', () => {
    const files = writeDesiredStateFiles({ kind: 'database', extensions: [], schemas: [] }, { schemaPath: '' });
    expect([...files]).toEqual([['schema.yaml', 'version: 1\n']]);
  });
});

describe('privileges of functions and types, default privileges (issue 12)', () => {
  const answer = {
    kind: 'function' as const,
    schema: 'public',
    name: 'answer',
    arguments: [],
    returns: 'integer',
    language: 'sql',
    body: 'SELECT 42',
  };
  const withCode = (grants: readonly Grant[]): DatabaseModel => ({
    kind: 'database',
    extensions: [],
    schemas: [{ ...emptySchema('public'), functions: [{ ...answer, grants }] }],
    defaultPrivileges: [
      { role: 'owner', on: 'functions', grants: [] },
      { role: 'owner', schema: 'app', on: 'tables', grants: [{ grantee: 'reader', privilege: 'SELECT' }] },
    ],
  });

  test("PostgreSQL's default (EXECUTE to PUBLIC) is not written; anything else is, and reads back", () => {
    const plain = writeDesiredState(withCode([{ grantee: 'public', privilege: 'EXECUTE' }]), { schemaPath: '' });
    expect(plain).not.toMatch(/grants/);
    const text = writeDesiredState(withCode([{ grantee: 'reader', privilege: 'EXECUTE', grantable: true }]), {
      schemaPath: '',
    });
    expect(text).toMatch(/grants: \{ reader: \[ EXECUTE WITH GRANT OPTION \] \}/);
    expect(text).toMatch(
      /defaultPrivileges:\n {2}owner:\n {4}functions: \{\}\n {4}inSchema:\n {6}app:\n {8}tables: \{ reader: \[ SELECT \] \}/,
    );
    const back = parseDesiredState(text, 'x.yaml');
    expect(back.model.schemas[0]?.functions[0]?.grants).toEqual([
      { grantee: 'reader', privilege: 'EXECUTE', grantable: true },
    ]);
    expect(back.model.defaultPrivileges).toEqual(withCode([]).defaultPrivileges);
  });

  test('a privilege a function cannot have is an error at its place', () => {
    expect(() =>
      parseDesiredState(
        'version: 1\nschemas:\n  public:\n    functions:\n      f: { returns: integer, language: sql, body: SELECT 1, grants: { r: [SELECT] } }\n',
        'x.yaml',
      ),
    ).toThrow(/x\.yaml:5:\d+: .*`SELECT` is not a privilege of a function: one of EXECUTE/);
  });
});

describe('the JSON Schema file', () => {
  test('every property has a description, every object forbids unknown keys', async () => {
    const schema = JSON.parse(await readFile('schemas/desired-state.schema.json', 'utf8')) as unknown;
    const problems: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => {
          walk(n, `${where}[${i}]`);
        });
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.type === 'object' && o.properties && o.additionalProperties !== false) {
        problems.push(`${where}: additionalProperties is not false`);
      }
      if (o.properties) {
        for (const [name, p] of Object.entries(o.properties as Record<string, Record<string, unknown>>)) {
          if (typeof p.description !== 'string' && typeof p.$ref !== 'string')
            problems.push(`${where}.${name}: no description`);
        }
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${where}.${k}`);
    };
    walk(schema, '#');
    expect(problems).toEqual([]);
  });
});
