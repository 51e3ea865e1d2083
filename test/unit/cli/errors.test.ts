/**
 * The one mapping from an error to an exit code and the text printed on stderr (src/cli/errors.ts),
 * for every error class zdm throws, a PostgreSQL error that escaped, oclif's parse errors and a bug.
 */
import { Errors } from '@oclif/core';
import { describe, expect, test } from 'vitest';
import { ApplyError, type ApplyErrorCode } from '../../../src/apply/errors.js';
import { debugEnabled, INTERNAL_ERROR, reportError, STACK_HINT } from '../../../src/cli/errors.js';
import { ConnectionError } from '../../../src/db/connection.js';
import { DesiredStateError } from '../../../src/desired/errors.js';
import {
  DriftError,
  FileError,
  fsReason,
  InputError,
  InternalError,
  OptionError,
  ServerError,
  UnsupportedServerError,
  ZdmError,
} from '../../../src/errors.js';
import { IntrospectionError } from '../../../src/introspect/build.js';
import { checkServerVersion } from '../../../src/introspect/index.js';
import { DeparseError } from '../../../src/introspect/sql-text.js';
import { PlanFileError, PlanningError } from '../../../src/plan/errors.js';
import { NormalizeError } from '../../../src/workflow/normalize.js';
import { PlanInFlightError } from '../../../src/workflow/plan.js';

const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/p.plan.yaml'"), { code: 'ENOENT' });

describe('every error class → its exit code and its printed line', () => {
  const cases: { error: Error; exitCode: number; text: string }[] = [
    {
      error: new DesiredStateError([{ file: 's.yaml', line: 3, column: 5, path: 'schemas.public', message: 'bad' }]),
      exitCode: 1,
      text: 'error: invalid desired state (1 problem):\n  s.yaml:3:5: schemas.public: bad',
    },
    {
      error: new PlanFileError('p.plan.yaml', [{ line: 2, column: 1, path: 'phases', message: 'expected an array' }]),
      exitCode: 1,
      text: 'error: p.plan.yaml:2:1: phases: expected an array',
    },
    {
      error: new PlanningError([{ object: 'column public.t.c', message: 'cannot do that' }]),
      exitCode: 1,
      text: 'error: cannot plan this change:\n  - column public.t.c: cannot do that',
    },
    {
      error: new NormalizeError([{ path: 'schemas.public.tables.t', segments: [], message: 'nope' }]),
      exitCode: 1,
      text: 'error: PostgreSQL rejected 1 definition(s) of the desired state:\n  schemas.public.tables.t: nope',
    },
    {
      error: new PlanInFlightError('plan p is applied part-way'),
      exitCode: 1,
      text: 'error: plan p is applied part-way',
    },
    { error: new OptionError('--pause "x": expected …'), exitCode: 1, text: 'error: --pause "x": expected …' },
    {
      error: FileError.from('cannot read plan', '/x/p.plan.yaml', enoent),
      exitCode: 1,
      text: 'error: cannot read plan /x/p.plan.yaml: no such file or directory',
    },
    { error: new InputError('bad input'), exitCode: 1, text: 'error: bad input' },
    { error: new DriftError('the database differs'), exitCode: 2, text: 'error: the database differs' },
    {
      error: new ConnectionError('cannot connect to postgresql://app:***@db/shop: refused'),
      exitCode: 3,
      text: 'error: cannot connect to postgresql://app:***@db/shop: refused',
    },
    {
      error: new IntrospectionError('introspecting indexes: boom'),
      exitCode: 3,
      text: 'error: introspecting indexes: boom',
    },
    {
      error: new UnsupportedServerError('PostgreSQL 13.16 is not supported: zdm needs PostgreSQL 14 or later'),
      exitCode: 3,
      text: 'error: PostgreSQL 13.16 is not supported: zdm needs PostgreSQL 14 or later',
    },
    { error: new ServerError('server gone'), exitCode: 3, text: 'error: server gone' },
    {
      error: new InternalError('introspecting index i of public.t: unexpected text'),
      exitCode: 4,
      text: `${INTERNAL_ERROR}: introspecting index i of public.t: unexpected text\n${STACK_HINT}`,
    },
    {
      error: new DeparseError('unterminated " quote in: x'),
      exitCode: 4,
      text: `${INTERNAL_ERROR}: unterminated " quote in: x\n${STACK_HINT}`,
    },
    {
      error: Object.assign(new Error('permission denied for table t'), { code: '42501' }),
      exitCode: 3,
      text: 'error: PostgreSQL 42501: permission denied for table t',
    },
    {
      error: new Errors.CLIError('Nonexistent flag: --frobnicate'),
      exitCode: 1,
      text: 'error: Nonexistent flag: --frobnicate\nSee: zdm apply --help',
    },
    {
      error: new TypeError("Cannot read properties of undefined (reading 'name')"),
      exitCode: 4,
      text: `${INTERNAL_ERROR}: Cannot read properties of undefined (reading 'name')\n${STACK_HINT}`,
    },
  ];

  test.each(cases)('$error.name: exit $exitCode', ({ error, exitCode, text }) => {
    expect(reportError(error, { debug: false, help: 'zdm apply --help' })).toEqual({ exitCode, text });
  });

  test('every zdm class but the internal one is a ZdmError, so no name is matched as a string', () => {
    for (const { error, exitCode } of cases.filter((c) => c.error.name !== 'Error' && c.exitCode !== 4)) {
      if (error instanceof Errors.CLIError || 'code' in error) continue;
      expect(error).toBeInstanceOf(ZdmError);
      expect((error as ZdmError).exitCode).toBe(exitCode);
    }
  });
});

describe('ApplyError: the exit code follows its code', () => {
  const table: [ApplyErrorCode, number][] = [
    ['invalid-plan', 1],
    ['checksum', 1],
    ['hazards', 1],
    ['phase-order', 1],
    ['drift', 2],
    ['locked', 3],
    ['journal', 3],
    ['lock-timeout', 3],
    ['step-failed', 3],
    ['post-check', 3],
  ];
  test.each(table)('%s → exit %i', (code, exitCode) => {
    const err = new ApplyError(code, `plan p: ${code}`);
    expect(err.exitCode).toBe(exitCode);
    expect(reportError(err, { debug: false })).toEqual({ exitCode, text: `error: plan p: ${code}` });
  });
});

describe('stack traces', () => {
  test('only with debug: the stack of the error and of each cause', () => {
    const cause = Object.assign(new Error("ENOENT: no such file or directory, stat '/nope'"), { code: 'ENOENT' });
    const err = FileError.from('cannot read desired state', '/nope', cause);
    const quiet = reportError(err, { debug: false });
    expect(quiet.text).toBe('error: cannot read desired state /nope: no such file or directory');
    const loud = reportError(err, { debug: true }).text.split('\n');
    expect(loud[0]).toBe('error: cannot read desired state /nope: no such file or directory');
    expect(loud[1]).toBe('FileError: cannot read desired state /nope: no such file or directory');
    expect(loud.some((l) => /^\s+at /.test(l))).toBe(true);
    expect(loud).toContain("caused by: Error: ENOENT: no such file or directory, stat '/nope'");
  });

  test('an internal error with debug prints the stack instead of the hint', () => {
    const r = reportError(new Error('boom'), { debug: true });
    expect(r.exitCode).toBe(4);
    expect(r.text).toMatch(/^internal error \(please report it\): boom\nError: boom\n\s+at /);
    expect(r.text).not.toContain(STACK_HINT);
  });

  test('passwords are redacted, in the stack too', () => {
    const r = reportError(new Error('cannot use postgresql://app:s3cret@db/shop'), { debug: true });
    expect(r.text).not.toContain('s3cret');
    expect(r.text).toContain('postgresql://app:***@db/shop');
  });

  test.each([
    ['zdm', true],
    ['*', true],
    ['oclif:*,zdm', true],
    ['z*', true],
    ['zdm*', true],
    ['*,-zdm', false],
    ['oclif:*', false],
    ['zdmx', false],
    ['', false],
    [undefined, false],
  ])('DEBUG=%s selects zdm: %s', (value, expected) => {
    expect(debugEnabled(value)).toBe(expected);
  });
});

describe('fsReason', () => {
  test.each([
    ["ENOENT: no such file or directory, stat '/nope'", 'no such file or directory'],
    ["EACCES: permission denied, open '/root/x'", 'permission denied'],
    ["ENOTDIR: not a directory, mkdir '/tmp/f/x'", 'not a directory'],
    ["ENOENT: no such file or directory, rename 'a' -> 'b'", 'no such file or directory'],
    ['something else', 'something else'],
  ])('%s → %s', (message, reason) => {
    expect(fsReason(new Error(message))).toBe(reason);
  });
});

describe('the server version check', () => {
  test.each([
    [130016, '13.16', true],
    [90624, '9.6.24', true],
    [Number.NaN, 'garbage', true],
    [140000, '14.0', false],
    [180004, '18.4', false],
  ])('server_version_num %d (%s) refused: %s', (num, version, refused) => {
    const run = () => checkServerVersion(num, version);
    if (refused) {
      expect(run).toThrow(UnsupportedServerError);
      expect(run).toThrow(`PostgreSQL ${version} is not supported: zdm needs PostgreSQL 14 or later`);
    } else {
      expect(run).not.toThrow();
    }
  });
});
