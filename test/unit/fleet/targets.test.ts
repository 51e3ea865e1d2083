import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../../src/desired/errors.js';
import { parseTargets, TargetsFileError, urlProblem } from '../../../src/fleet/targets.js';

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseTargets(text, 'targets.yaml', env);
  } catch (e) {
    if (e instanceof TargetsFileError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error('expected the targets file to be rejected');
}

describe('targets file', () => {
  test('urls, env variables, names, groups, in the order of the file', () => {
    const file = parseTargets(
      [
        'version: 1',
        'targets:',
        '  - name: canary-1',
        '    url: postgresql://zdm@db1.internal:5432/shop',
        '    groups: [canary, eu, eu]',
        '  - url: postgres://zdm@db2.internal/tenant_2?sslmode=require',
        '  - env: TENANT_3_URL',
        '    groups: [us]',
      ].join('\n'),
      'targets.yaml',
      { TENANT_3_URL: 'postgresql://zdm:secret@db3/t3' },
    );
    expect(file.targets).toEqual([
      {
        name: 'canary-1',
        groups: ['canary', 'eu'],
        url: 'postgresql://zdm@db1.internal:5432/shop',
        from: { url: true },
        at: 'targets.yaml:3:5',
      },
      {
        name: 'tenant_2',
        groups: [],
        url: 'postgres://zdm@db2.internal/tenant_2?sslmode=require',
        from: { url: true },
        at: 'targets.yaml:6:5',
      },
      // A password is fine in the environment, never in the file.
      {
        name: 'TENANT_3_URL',
        groups: ['us'],
        url: 'postgresql://zdm:secret@db3/t3',
        from: { env: 'TENANT_3_URL' },
        at: 'targets.yaml:7:5',
      },
    ]);
  });

  test('a password in a URL is refused at its line, and so is one in the query string', () => {
    const found = problems(
      [
        'version: 1',
        'targets:',
        '  - url: postgresql://app:hunter2@db1/shop',
        '  - url: postgresql://app@db2/shop2?password=hunter2',
      ].join('\n'),
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^targets\.yaml:3:10: targets\[0\]\.url: the URL carries a password/);
    expect(found[1]).toMatch(/^targets\.yaml:4:10: targets\[1\]\.url: the URL carries a password/);
    // The message never repeats the password.
    expect(found.join('\n')).not.toContain('hunter2');
  });

  test('every problem at once, each located', () => {
    const found = problems(
      [
        'version: 1',
        'targets:',
        '  - name: a',
        '    url: postgresql://db/a',
        '    env: A_URL',
        '  - name: a',
        '    url: postgresql://db/other',
        '  - env: MISSING_URL',
        '  - groups: [eu]',
        '  - url: postgresql://db/',
      ].join('\n'),
    );
    expect(found).toEqual([
      'targets.yaml:3:5: targets[0]: a target has `url` or `env`, not both',
      'targets.yaml:6:11: targets[1].name: the name "a" is already taken by the target at line 3',
      "targets.yaml:8:10: targets[2].env: the environment variable MISSING_URL is not set (it should hold the target's URL)",
      'targets.yaml:9:5: targets[3]: a target needs `url` (a postgresql:// URL without a password) or `env` (the name of a variable holding its URL)',
      'targets.yaml:10:5: targets[4]: the URL names no database: give the target a `name`',
    ]);
  });

  test('the JSON Schema: unknown keys, a bad name, a non-postgres URL, no targets', () => {
    expect(
      problems(
        [
          'version: 1',
          'targets:',
          '  - url: mysql://db/a',
          '    nmae: x',
          '  - url: postgresql://db/b',
          '    name: "-b"',
        ].join('\n'),
      ),
    ).toEqual([
      'targets.yaml:3:10: targets[0].url: expected a postgresql:// URL, got string "mysql://db/a"',
      'targets.yaml:4:5: targets[0].nmae: unknown key `nmae`; did you mean `name`?',
      'targets.yaml:6:11: targets[1].name: expected letters, digits, `_`, `.` and `-`, starting with a letter or digit, got string "-b"',
    ]);
    expect(problems('version: 1\ntargets: []\n')).toEqual(['targets.yaml:2:10: targets: must list at least 1 item']);
    expect(problems('')[0]).toContain('the file is empty');
  });

  test('urlProblem', () => {
    expect(urlProblem('postgresql://u@h/d')).toBeUndefined();
    expect(urlProblem('postgresql://u:p@h/d')).toContain('password');
    expect(urlProblem('postgresql://u@h/d?PASSWORD=x')).toContain('password');
    expect(urlProblem('postgresql://[bad')).toBe('not a valid URL');
  });
});
