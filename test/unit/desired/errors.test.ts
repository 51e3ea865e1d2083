import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  type DesiredIssue,
  DesiredStateError,
  loadDesiredState,
  parseDesiredState,
} from '../../../src/desired/index.js';
import { FileError } from '../../../src/errors.js';

/** The issues a document is rejected with (fails the test when it loads). */
function issuesOf(text: string, file = 'schema.yaml'): readonly DesiredIssue[] {
  try {
    parseDesiredState(text, file);
  } catch (e) {
    if (e instanceof DesiredStateError) return e.issues;
    throw e;
  }
  throw new Error('expected the document to be rejected');
}

interface Expected {
  readonly line: number;
  /** The column, or the text the issue must point at: its first occurrence on the line. */
  readonly at: number | string;
  readonly path: string;
  /** Text the message must contain. */
  readonly message: string;
}

function columnOf(text: string, line: number, at: number | string): number {
  if (typeof at === 'number') return at;
  const l = text.split('\n')[line - 1] ?? '';
  const i = l.indexOf(at);
  if (i < 0) throw new Error(`\`${at}\` is not on line ${line}: ${l}`);
  return i + 1;
}

const located = (text: string, expected: readonly Expected[], file = 'schema.yaml') =>
  expected.map((e) => ({
    file,
    line: e.line,
    column: columnOf(text, e.line, e.at),
    path: e.path,
    message: expect.stringContaining(e.message),
  }));

const T = 'schemas.public.tables';

/** A document with one table `users` in `public`, the given lines indented under `users:`. */
const withUsers = (...lines: string[]) =>
  ['version: 1', 'schemas:', '  public:', '    tables:', '      users:', ...lines.map((l) => `        ${l}`), ''].join(
    '\n',
  );

// Each case: the YAML (line numbers in comments are 1-based) and the exact issues expected.
const cases: { name: string; text: string; issues: Expected[] }[] = [
  {
    name: 'YAML syntax error, located by the parser',
    text: withUsers('columns:', '  id: { type: bigint, nullable: false', '  name: { type: text }'),
    // The flow map opened on line 7 is still open where the next key starts.
    issues: [{ line: 8, at: 'name', path: '', message: 'YAML syntax error: Flow map in block collection must be' }],
  },
  {
    name: 'a policy for public and other roles (PostgreSQL would keep PUBLIC alone)',
    text: withUsers('columns:', '  id: { type: bigint }', 'policies:', '  p: { roles: [app, public], using: "true" }'),
    issues: [
      {
        line: 9,
        at: '[app',
        path: `${T}.users.policies.p.roles`,
        message: 'policy `p`: `public` (every role) is listed with other roles, which PostgreSQL ignores',
      },
    ],
  },
  {
    name: 'a bracket inside a flow map explains itself',
    text: withUsers('columns:', '  tags: { type: text[] }'),
    issues: [
      {
        line: 7,
        at: '[',
        path: '',
        message: "quote a value that contains brackets, braces or commas (`type: 'int[]'`)",
      },
    ],
  },
  {
    name: 'wrong type: a string where a boolean goes, located at the value',
    text: withUsers('columns:', '  id: { type: bigint, nullable: "yes" }'),
    issues: [
      {
        line: 7,
        at: '"yes"',
        path: `${T}.users.columns.id.nullable`,
        message: 'expected a boolean (true or false), got string "yes"',
      },
    ],
  },
  {
    name: 'wrong type: a map where a list goes',
    text: withUsers('columns:', '  id: { type: bigint }', 'primaryKey: { columns: { id: 1 } }'),
    issues: [{ line: 8, at: '{ id', path: `${T}.users.primaryKey.columns`, message: 'expected a list, got a map' }],
  },
  {
    name: 'unknown key with a close known one, located at the key',
    text: withUsers('columns:', '  id: { type: bigint, nulable: false }'),
    issues: [
      {
        line: 7,
        at: 'nulable',
        path: `${T}.users.columns.id.nulable`,
        message: 'unknown key `nulable`; did you mean `nullable`?',
      },
    ],
  },
  {
    name: 'unknown key differing in case',
    text: withUsers('columns:', '  id: { type: bigint }', 'primarykey: { columns: [id] }'),
    issues: [
      {
        line: 8,
        at: 'primarykey',
        path: `${T}.users.primarykey`,
        message: 'unknown key `primarykey`; did you mean `primaryKey`?',
      },
    ],
  },
  {
    name: 'unknown key with nothing close lists the known keys',
    text: withUsers('columns:', '  id: { type: bigint, colour: red }'),
    issues: [
      {
        line: 7,
        at: 'colour',
        path: `${T}.users.columns.id.colour`,
        message: 'unknown key `colour` (known keys: type, nullable',
      },
    ],
  },
  {
    name: 'missing required key, located at the entry that lacks it',
    text: withUsers('columns:', '  id: { type: bigint }', '  amount: { nullable: false }'),
    issues: [{ line: 8, at: 'amount', path: `${T}.users.columns.amount`, message: 'missing required key `type`' }],
  },
  {
    name: 'duplicate key within one map names the first one',
    text: withUsers('columns:', '  id: { type: bigint }', '  email: { type: text }', '  id: { type: uuid }'),
    issues: [
      { line: 9, at: 'id', path: `${T}.users.columns.id`, message: 'duplicate key `id` (first at line 7, column 11)' },
    ],
  },
  {
    name: 'a value that is not one of the choices',
    text: withUsers('columns:', '  id: { type: bigint, identity: alwys }'),
    issues: [
      {
        line: 7,
        at: 'alwys',
        path: `${T}.users.columns.id.identity`,
        message: 'expected one of `always`, `by default`, got string "alwys"; did you mean `always`?',
      },
    ],
  },
  {
    name: 'version missing',
    text: 'schemas:\n  public: {}\n',
    issues: [{ line: 1, at: 1, path: '', message: 'missing required key `version`: add `version: 1`' }],
  },
  {
    name: 'version not 1',
    text: 'version: 2\nschemas: {}\n',
    issues: [{ line: 1, at: '2', path: 'version', message: 'unsupported version number 2' }],
  },
  {
    name: 'version as a string',
    text: "version: '1'\n",
    issues: [{ line: 1, at: "'1'", path: 'version', message: 'unsupported version string "1"' }],
  },
  {
    name: 'an empty file',
    text: '# nothing here\n',
    issues: [{ line: 1, at: 1, path: '', message: 'the file is empty' }],
  },
  {
    name: 'serial is rejected with the way out',
    text: withUsers('columns:', '  id: { type: bigserial }'),
    issues: [
      {
        line: 7,
        at: 'bigserial',
        path: `${T}.users.columns.id.type`,
        message:
          '`bigserial` is not a type but a shorthand that CREATE TABLE expands; use an integer type with `identity: by default`',
      },
    ],
  },
  {
    name: 'nullable: true on a primary key column',
    text: withUsers('columns:', '  id: { type: bigint, nullable: true }', 'primaryKey: { columns: [id] }'),
    issues: [
      {
        line: 7,
        at: 'true',
        path: `${T}.users.columns.id.nullable`,
        message: 'a primary key column is always NOT NULL in PostgreSQL',
      },
    ],
  },
  {
    name: 'nullable: true on an identity column',
    text: withUsers('columns:', '  id: { type: bigint, identity: always, nullable: true }'),
    issues: [
      { line: 7, at: 'true', path: `${T}.users.columns.id.nullable`, message: 'an identity column is always NOT NULL' },
    ],
  },
  {
    name: 'key, index and constraint columns that the table does not have',
    text: withUsers(
      'columns:',
      '  id: { type: bigint }',
      '  email: { type: text }',
      'primaryKey: { columns: [idd] }',
      'uniqueConstraints:',
      '  users_email_key: { columns: [email, mail] }',
      'checks:',
      '  chk: { expression: id > 0 }',
      'foreignKeys:',
      '  fk_self: { columns: [parent_id], references: { table: users, columns: [id] } }',
      'indexes:',
      '  idx_a: { columns: [emial desc], include: [nope] }',
      '  idx_b: { columns: [{ column: x }, lower(email)] }',
    ),
    issues: [
      {
        line: 9,
        at: 'idd',
        path: `${T}.users.primaryKey.columns[0]`,
        message: 'primary key: table `public.users` has no column `idd`; did you mean `id`?',
      },
      {
        line: 11,
        at: 'mail]',
        path: `${T}.users.uniqueConstraints.users_email_key.columns[1]`,
        message: 'unique constraint: table `public.users` has no column `mail`; did you mean `email`?',
      },
      {
        line: 15,
        at: 'parent_id',
        path: `${T}.users.foreignKeys.fk_self.columns[0]`,
        message: 'foreign key: table `public.users` has no column `parent_id`',
      },
      {
        // With the primary key on a column that does not exist, nothing makes `id` unique.
        line: 15,
        at: '[id]',
        path: `${T}.users.foreignKeys.fk_self.references.columns`,
        message: 'has no primary key, unique constraint or unique index on exactly (id)',
      },
      {
        line: 17,
        at: 'emial desc',
        path: `${T}.users.indexes.idx_a.columns[0]`,
        message: 'index: table `public.users` has no column `emial`; did you mean `email`?',
      },
      {
        line: 17,
        at: 'nope',
        path: `${T}.users.indexes.idx_a.include[0]`,
        message: 'index include: table `public.users` has no column `nope`',
      },
      { line: 18, at: 'x }', path: `${T}.users.indexes.idx_b.columns[0].column`, message: 'has no column `x`' },
      {
        line: 18,
        at: 'lower(email)',
        path: `${T}.users.indexes.idx_b.columns[1]`,
        message: 'has no column `lower(email)`; for an expression write { expression: ... }',
      },
    ],
  },
  {
    name: 'foreign key to a table that is not in the desired state',
    text: withUsers(
      'columns:',
      '  id: { type: bigint }',
      'foreignKeys:',
      '  fk_x: { columns: [id], references: { table: user, columns: [id] } }',
    ),
    issues: [
      {
        line: 9,
        at: 'user,',
        path: `${T}.users.foreignKeys.fk_x.references.table`,
        message: 'foreign key `fk_x` references `public.user`, which is not a table; did you mean `users`?',
      },
    ],
  },
  {
    name: 'foreign key to a schema that is not in the desired state',
    text: withUsers(
      'columns:',
      '  id: { type: bigint }',
      'foreignKeys:',
      '  fk_x: { columns: [id], references: { schema: crm, table: accounts, columns: [id] } }',
    ),
    issues: [
      {
        line: 9,
        at: 'accounts',
        path: `${T}.users.foreignKeys.fk_x.references.table`,
        message: 'references `crm.accounts`, which is not a table (schema `crm` is not in the desired state)',
      },
    ],
  },
  {
    name: 'foreign key to columns the target does not have or that are not unique',
    text: withUsers(
      'columns:',
      '  id: { type: bigint }',
      '  email: { type: text }',
      'primaryKey: { columns: [id] }',
      'foreignKeys:',
      '  fk_a: { columns: [id], references: { table: users, columns: [idx] } }',
      '  fk_b: { columns: [email], references: { table: users, columns: [email] } }',
    ),
    issues: [
      {
        line: 11,
        at: 'idx',
        path: `${T}.users.foreignKeys.fk_a.references.columns[0]`,
        message: '`public.users` has no column `idx`; did you mean `id`?',
      },
      {
        line: 12,
        at: '[email] }',
        path: `${T}.users.foreignKeys.fk_b.references.columns`,
        message: 'has no primary key, unique constraint or unique index on exactly (email)',
      },
    ],
  },
  {
    name: 'a partition without a bound, and a bound of the wrong kind',
    text: withUsers(
      'columns:',
      '  id: { type: bigint }',
      'partitionBy: { strategy: list, columns: [id] }',
      'partitions:',
      '  p1: { comment: none }',
      '  p2: { modulus: 2, remainder: 0 }',
    ),
    issues: [
      { line: 10, at: 'p1', path: `${T}.users.partitions.p1`, message: 'a partition needs a bound' },
      {
        line: 11,
        at: 'p2',
        path: `${T}.users.partitions.p2`,
        message: 'make a hash partition, but the parent is partitioned by list',
      },
    ],
  },
  {
    name: 'a unique key of a partitioned table must include the partition key, also when inherited',
    text: withUsers(
      'columns: { id: { type: int }, at: { type: date }, region: { type: text } }',
      'primaryKey: { columns: [id] }',
      'partitionBy: { strategy: range, columns: [at] }',
      'partitions:',
      '  p1:',
      "    from: ['2024-01-01']",
      "    to: ['2025-01-01']",
      '    partitionBy: { strategy: list, columns: [region] }',
      '    partitions: { p1_eu: { in: [de] } }',
    ),
    issues: [
      {
        line: 7,
        at: 'primaryKey',
        path: `${T}.users.primaryKey`,
        message:
          'the primary key `users_pkey` of partitioned table `public.users` must include the partition key column `at`',
      },
      {
        line: 13,
        at: 'partitionBy',
        path: `${T}.users.partitions.p1.partitionBy`,
        message:
          'partition `public.p1` inherits the primary key `users_pkey` of `public.users`, so it must be partitioned by columns of that key; `region` is not one',
      },
    ],
  },
  {
    name: 'INITIALLY DEFERRED without DEFERRABLE',
    text: withUsers(
      'columns: { id: { type: int } }',
      'uniqueConstraints: { u: { columns: [id], initiallyDeferred: true } }',
    ),
    issues: [
      {
        line: 7,
        at: 'true',
        path: `${T}.users.uniqueConstraints.u.initiallyDeferred`,
        message: 'INITIALLY DEFERRED needs `deferrable: true`',
      },
    ],
  },
  {
    name: 'sequence options PostgreSQL would reject',
    text: [
      'version: 1',
      'schemas:',
      '  public:',
      '    sequences:',
      '      s1: { type: smallint, maxValue: 40000 }',
      '      s2: { minValue: 10, maxValue: 5 }',
      '      s3: { type: text, increment: 0 }',
      '',
    ].join('\n'),
    issues: [
      {
        line: 5,
        at: '40000',
        path: 'schemas.public.sequences.s1.maxValue',
        message: '40000 is out of range for type smallint',
      },
      {
        line: 6,
        at: 's2',
        path: 'schemas.public.sequences.s2',
        message: 'minValue (10) must be less than maxValue (5)',
      },
      {
        line: 7,
        at: 'text',
        path: 'schemas.public.sequences.s3.type',
        message: "a sequence's type is smallint, integer or bigint",
      },
      { line: 7, at: '0 }', path: 'schemas.public.sequences.s3.increment', message: 'increment must not be zero' },
    ],
  },
  {
    name: 'a type named with the wrong case',
    text: [
      'version: 1',
      'schemas:',
      '  public:',
      '    enums:',
      '      Status: [a, b]',
      '    tables:',
      '      t:',
      '        columns:',
      '          s: { type: Status }',
      '          s2: { type: Status }',
      '',
    ].join('\n'),
    // Each column that writes it, though the type is resolved once.
    issues: [9, 10].map((line) => ({
      line,
      at: 'Status',
      path: `${T}.t.columns.${line === 9 ? 's' : 's2'}.type`,
      message:
        'type `Status` means `status` (PostgreSQL folds unquoted names to lower case); for the type `Status` write \'"Status"\'',
    })),
  },
  {
    name: 'names shared by a table and an index',
    text: withUsers('columns:', '  id: { type: bigint }', 'indexes:', '  users: { columns: [id] }'),
    issues: [
      {
        line: 9,
        at: 'users',
        path: `${T}.users.indexes.users`,
        message: 'index `public.users` has the same name as the table at schema.yaml:5:7',
      },
    ],
  },
  {
    name: 'identity options out of range for the column type, at the option',
    text: withUsers(
      'columns:',
      '  id: { type: integer, identity: { generated: always, maxValue: 3000000000, cache: 0 } }',
    ),
    issues: [
      {
        line: 7,
        at: '3000000000',
        path: `${T}.users.columns.id.identity.maxValue`,
        message: '3000000000 is out of range for type integer',
      },
      { line: 7, at: '0 }', path: `${T}.users.columns.id.identity.cache`, message: 'cache must be at least 1' },
    ],
  },
  {
    name: 'identity options with start outside the bounds',
    text: withUsers('columns:', '  id: { type: bigint, identity: { generated: always, start: 5, maxValue: 3 } }'),
    issues: [
      {
        line: 7,
        at: 'identity',
        path: `${T}.users.columns.id.identity`,
        message: 'start (5) must lie between minValue (1) and maxValue (3)',
      },
    ],
  },
  {
    name: 'replica identity on an index PostgreSQL cannot use, or none',
    text: [
      ...withUsers(
        'columns:',
        '  id: { type: bigint, nullable: false }',
        '  email: { type: text }',
        'replicaIdentity: { index: users_email_idx }',
        'indexes:',
        '  users_email_idx: { columns: [email], unique: true }',
      )
        .split('\n')
        .slice(0, -1),
      '      posts:',
      '        columns:',
      '          id: { type: bigint, nullable: false }',
      '        replicaIdentity: { index: posts_pkey }',
      '',
    ].join('\n'),
    issues: [
      {
        line: 9,
        at: 'users_email_idx',
        path: `${T}.users.replicaIdentity.index`,
        message: '`users_email_idx` cannot be the replica identity: column `email` is nullable',
      },
      {
        line: 15,
        at: 'posts_pkey',
        path: `${T}.posts.replicaIdentity.index`,
        message: 'table `public.posts` has no primary key, unique constraint or index `posts_pkey`',
      },
    ],
  },
  {
    name: 'CLUSTER ON an index that is missing, partial, of a method that cannot order, or on a partitioned table',
    text: [
      ...withUsers(
        'columns:',
        '  id: { type: bigint, nullable: false }',
        '  email: { type: text }',
        'clusterOn: users_email_hash',
        'indexes:',
        '  users_email_hash: { columns: [email], using: hash }',
        '  users_email_some: { columns: [email], where: "id > 0" }',
      )
        .split('\n')
        .slice(0, -1),
      '      posts:',
      '        columns:',
      '          id: { type: bigint, nullable: false }',
      '        clusterOn: posts_pkey',
      '      events:',
      '        columns:',
      '          at: { type: date, nullable: false }',
      '        clusterOn: events_at',
      '        partitionBy: { strategy: range, columns: [at] }',
      '      notes:',
      '        columns:',
      '          id: { type: bigint, nullable: false }',
      '        clusterOn: notes_some',
      '        indexes:',
      '          notes_some: { columns: [id], where: "id > 0" }',
      '',
    ].join('\n'),
    issues: [
      {
        line: 9,
        at: 'users_email_hash',
        path: `${T}.users.clusterOn`,
        message: '`users_email_hash` cannot be clustered on: a hash index cannot order rows (btree and gist can)',
      },
      {
        line: 16,
        at: 'posts_pkey',
        path: `${T}.posts.clusterOn`,
        message: 'table `public.posts` has no primary key, unique constraint or index `posts_pkey`',
      },
      {
        line: 20,
        at: 'events_at',
        path: `${T}.events.clusterOn`,
        message:
          'table `public.events` is partitioned: PostgreSQL cannot mark an index of a partitioned table for CLUSTER',
      },
      {
        line: 25,
        at: 'notes_some',
        path: `${T}.notes.clusterOn`,
        message: '`notes_some` cannot be clustered on: it is partial (has a `where`)',
      },
    ],
  },
  {
    name: 'an attribute option PostgreSQL does not have',
    text: withUsers('columns:', '  id: { type: bigint, options: { n_distinct: -0.5, fillfactor: 70 } }'),
    issues: [
      {
        line: 7,
        at: 'fillfactor',
        path: `${T}.users.columns.id.options.fillfactor`,
        message: '`fillfactor` is not an attribute option: PostgreSQL has n_distinct and n_distinct_inherited',
      },
    ],
  },
  {
    name: 'a statistics target out of range',
    text: withUsers('columns:', '  name: { type: text, statistics: 20000 }'),
    issues: [{ line: 7, at: '20000', path: `${T}.users.columns.name.statistics`, message: 'must be <= 10000' }],
  },
  {
    name: 'INHERITS from a table that is not in the desired state',
    text: withUsers('columns:', '  id: { type: bigint }', 'inherits: [user]'),
    issues: [
      {
        line: 8,
        at: 'user',
        path: `${T}.users.inherits[0]`,
        message: '`public.users` inherits from `public.user`, which is not a table',
      },
    ],
  },
  {
    name: 'a storage parameter name that is not one',
    text: withUsers('columns:', '  id: { type: bigint }', 'with: { FillFactor: 80 }'),
    issues: [
      {
        line: 8,
        at: 'FillFactor',
        path: `${T}.users.with.FillFactor`,
        message: '`FillFactor` is not a storage parameter name (lower-case letters, digits and _',
      },
    ],
  },
  {
    name: 'a replica identity that is not one',
    text: withUsers('columns:', '  id: { type: bigint }', 'replicaIdentity: everything'),
    issues: [
      {
        line: 8,
        at: 'everything',
        path: `${T}.users.replicaIdentity`,
        message: 'expected one of `default`, `full`, `nothing`, got string "everything"',
      },
    ],
  },
  {
    name: 'a cast with both a function and WITH INOUT',
    text: [
      'version: 1',
      'casts:',
      "  - { source: public.a, target: text, function: 'public.f(public.a)', inout: true }",
      '  - { source: public.a, target: integer, inout: true }',
      '  - { source: public.a, target: integer, withoutFunction: true }',
    ].join('\n'),
    issues: [
      {
        line: 3,
        at: '{',
        path: 'casts[0]',
        message: 'cast (public.a AS text) takes exactly one of `function`, `inout: true`, `withoutFunction: true`',
      },
      {
        line: 5,
        at: '{',
        path: 'casts[2]',
        message: 'cast (public.a AS integer) is defined in two places: schema.yaml:4:5 and schema.yaml:5:5',
      },
    ],
  },
];

describe('located errors', () => {
  test.each(cases)('$name', ({ text, issues }) => {
    expect(issuesOf(text)).toEqual(located(text, issues));
  });

  test('every issue of a document is reported, sorted by position', () => {
    const issues = issuesOf(
      withUsers('columns:', '  id: { type: bigint, nulable: false }', '  email: { type: 3 }', 'unlogged: "no"'),
    );
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path}`)).toEqual([
      `7:31 ${T}.users.columns.id.nulable`,
      `8:26 ${T}.users.columns.email.type`,
      `9:19 ${T}.users.unlogged`,
    ]);
  });

  test('the error message lists every issue as file:line:column: path: message', () => {
    try {
      parseDesiredState(withUsers('columns:', '  id: { type: bigint, nulable: false }', 'unlogged: "no"'), 'db.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DesiredStateError);
      expect((e as Error).name).toBe('DesiredStateError');
      expect((e as Error).message).toBe(
        [
          'invalid desired state (2 problems):',
          `  db.yaml:7:31: ${T}.users.columns.id.nulable: unknown key \`nulable\`; did you mean \`nullable\`?`,
          `  db.yaml:8:19: ${T}.users.unlogged: expected a boolean (true or false), got string "no"`,
        ].join('\n'),
      );
    }
  });
});

describe('names longer than 63 bytes', () => {
  // 32 two-byte characters: 32 characters, 64 bytes.
  const long = 'é'.repeat(32);
  const fits = `${'é'.repeat(31)}x`;

  const docs: {
    kind: string;
    text: (n: string) => string;
    line: number;
    column: number;
    path: (n: string) => string;
  }[] = [
    {
      kind: 'schema',
      text: (n) => `version: 1\nschemas:\n  ${n}: {}\n`,
      line: 3,
      column: 3,
      path: (n) => `schemas["${n}"]`,
    },
    {
      kind: 'table',
      text: (n) => `version: 1\nschemas:\n  public:\n    tables:\n      ${n}: {}\n`,
      line: 5,
      column: 7,
      path: (n) => `${T}["${n}"]`,
    },
    {
      kind: 'column',
      text: (n) => withUsers('columns:', `  ${n}: { type: text }`),
      line: 7,
      column: 11,
      path: (n) => `${T}.users.columns["${n}"]`,
    },
    {
      kind: 'constraint',
      text: (n) => withUsers('columns:', '  id: { type: int }', 'checks:', `  ${n}: { expression: id > 0 }`),
      line: 9,
      column: 11,
      path: (n) => `${T}.users.checks["${n}"]`,
    },
    {
      kind: 'constraint',
      text: (n) => withUsers('columns:', '  id: { type: int }', `primaryKey: { name: ${n}, columns: [id] }`),
      line: 8,
      column: 23,
      path: () => `${T}.users.primaryKey.name`,
    },
    {
      kind: 'index',
      text: (n) => withUsers('columns:', '  id: { type: int }', 'indexes:', `  ${n}: { columns: [id] }`),
      line: 9,
      column: 11,
      path: (n) => `${T}.users.indexes["${n}"]`,
    },
    {
      kind: 'enum',
      text: (n) => `version: 1\nschemas:\n  public:\n    enums:\n      ${n}: [a]\n`,
      line: 5,
      column: 7,
      path: (n) => `schemas.public.enums["${n}"]`,
    },
    {
      kind: 'sequence',
      text: (n) => `version: 1\nschemas:\n  public:\n    sequences:\n      ${n}: {}\n`,
      line: 5,
      column: 7,
      path: (n) => `schemas.public.sequences["${n}"]`,
    },
    {
      kind: 'partition',
      text: (n) =>
        withUsers(
          'columns:',
          '  id: { type: int }',
          'partitionBy: { strategy: list, columns: [id] }',
          'partitions:',
          `  ${n}: { in: [1] }`,
        ),
      line: 10,
      column: 11,
      path: (n) => `${T}.users.partitions["${n}"]`,
    },
  ];

  test.each(docs)('$kind name', ({ kind, text, line, column, path }) => {
    expect(issuesOf(text(long))).toEqual(
      located(text(long), [
        { line, at: column, path: path(long), message: `${kind} name \`${long}\` is 64 bytes long` },
      ]),
    );
    expect(() => parseDesiredState(text(fits), 'schema.yaml')).not.toThrow();
  });
});

describe('a directory', () => {
  test('a table, an enum and an extension defined in two files: each issue names both places', async () => {
    const err = await loadDesiredState('test/fixtures/desired/duplicate-table').then(
      () => expect.unreachable(),
      (e: unknown) => e as DesiredStateError,
    );
    expect(err).toBeInstanceOf(DesiredStateError);
    const a = 'test/fixtures/desired/duplicate-table/a.yaml';
    const b = 'test/fixtures/desired/duplicate-table/nested/b.yml';
    expect(err.issues).toEqual([
      {
        file: b,
        line: 2,
        column: 14,
        path: 'extensions[0]',
        message: `extension \`pgcrypto\` is listed twice: ${a}:2:14 and ${b}:2:14`,
      },
      {
        file: b,
        line: 6,
        column: 7,
        path: 'schemas.public.enums.status',
        message: `enum \`public.status\` is defined in two places: ${a}:6:7 and ${b}:6:7`,
      },
      {
        file: b,
        line: 11,
        column: 7,
        path: 'schemas.public.tables.users',
        message: `table \`public.users\` is defined in two places: ${a}:8:7 and ${b}:11:7`,
      },
    ]);
  });

  test('a path that does not exist is a FileError naming it, in one line', async () => {
    const err = await loadDesiredState('test/fixtures/desired/no-such-dir').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileError);
    expect((err as FileError).message).toBe(
      'cannot read desired state test/fixtures/desired/no-such-dir: no such file or directory',
    );
    expect((err as FileError).path).toBe('test/fixtures/desired/no-such-dir');
    expect(((err as FileError).cause as { code?: string }).code).toBe('ENOENT');
  });

  test('a directory without YAML files is a FileError naming it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zdm-empty-'));
    try {
      await writeFile(path.join(dir, 'notes.txt'), 'not yaml');
      await expect(loadDesiredState(dir)).rejects.toThrow(
        new FileError(dir, `desired state ${dir}: the directory has no .yaml or .yml files`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
