import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  loadDesiredState,
  parseDesiredState,
  writeDesiredState,
  writeDesiredStateFiles,
} from '../../../src/desired/index.js';
import { canonicalize } from '../../../src/model/canonical.js';
import { FULL_MODEL } from './full-model.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('round trip: canonicalize(load(write(M))) equals canonicalize(M)', () => {
  test('through one file', () => {
    const text = writeDesiredState(FULL_MODEL);
    const { model } = parseDesiredState(text, 'full.yaml');
    expect(canonicalize(model)).toEqual(canonicalize(FULL_MODEL));
  });

  test('writing is deterministic and a fixed point', () => {
    const once = writeDesiredState(FULL_MODEL);
    const reversed = {
      ...FULL_MODEL,
      extensions: [...FULL_MODEL.extensions].reverse(),
      schemas: [...FULL_MODEL.schemas].reverse().map((s) => ({ ...s, tables: [...s.tables].reverse() })),
    };
    expect(writeDesiredState(reversed)).toBe(once);
    const { model } = parseDesiredState(once, 'full.yaml');
    expect(writeDesiredState(model)).toBe(once);
  });

  test('through one file per schema, loaded as a directory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zdm-desired-'));
    dirs.push(dir);
    const files = writeDesiredStateFiles(FULL_MODEL);
    // A view's query in <schema>/views/<view>.sql: a name that is not a safe file name is %-encoded,
    // one that differs from another only in case gets -2.
    expect([...files.keys()]).toEqual([
      'extensions.yaml',
      'Sales.yaml',
      'Sales/views/Odd%2FName%2Ev.sql',
      'Sales/views/odd%2Fname%2EV-2.sql',
      'archive.yaml',
      'public.yaml',
      'public/views/active_users.sql',
      'public/views/one.sql',
      'public/materialized-views/user_counts.sql',
      'public/functions/gross.sql',
      'public/functions/gross-2.sql',
      'public/procedures/reprice.sql',
      'public/functions/touch.sql',
    ]);
    // A function's body byte for byte; a SQL-standard body as a statement; overloads by signature.
    expect(files.get('public/functions/gross.sql')).toBe(' SELECT round(n * 1.25, 2) ');
    expect(files.get('public/functions/gross-2.sql')).toBe('RETURN (n * ((1)::numeric + rate));\n');
    expect(files.get('public.yaml')).toContain('    gross(numeric, numeric):\n');
    expect(files.get('public.yaml')).toContain('      active_users:\n        file: public/views/active_users.sql\n');
    expect(files.get('public/views/one.sql')).toBe('SELECT 1 AS one;\n');
    for (const [name, text] of files) {
      if (name.endsWith('.yaml')) expect(text).toMatch(/^# yaml-language-server: \$schema=.*\nversion: 1\n/);
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
    const loaded = await loadDesiredState(dir);
    expect(canonicalize(loaded.model)).toEqual(canonicalize(FULL_MODEL));
    expect(loaded.sqlFiles.map((f) => path.relative(dir, f))).toEqual(
      [...files.keys()].filter((f) => f.endsWith('.sql')).sort(),
    );
  });

  test('a per-schema file without references elsewhere loads on its own', () => {
    const files = writeDesiredStateFiles(FULL_MODEL);
    for (const name of ['extensions.yaml', 'archive.yaml']) {
      expect(() => parseDesiredState(files.get(name)!, name)).not.toThrow();
    }
  });
});
