import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
    expect([...files.keys()]).toEqual(['extensions.yaml', 'Sales.yaml', 'archive.yaml', 'public.yaml']);
    for (const [name, text] of files) {
      expect(text).toMatch(/^# yaml-language-server: \$schema=.*\nversion: 1\n/);
      await writeFile(path.join(dir, name), text);
    }
    const { model } = await loadDesiredState(dir);
    expect(canonicalize(model)).toEqual(canonicalize(FULL_MODEL));
  });

  test('a per-schema file without references elsewhere loads on its own', () => {
    const files = writeDesiredStateFiles(FULL_MODEL);
    for (const name of ['extensions.yaml', 'archive.yaml']) {
      expect(() => parseDesiredState(files.get(name)!, name)).not.toThrow();
    }
  });
});
