/**
 * The project's acceptance check for the model: a live model written as YAML (one file, and one file
 * per schema), validated and loaded back, equals what introspection read; and normalizing the loaded
 * state through the server (what `zdm plan` does to a desired state) changes nothing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { Queryable } from '../../src/db/connection.js';
import { loadDesiredState, writeDesiredState, writeDesiredStateFiles } from '../../src/desired/index.js';
import { canonicalize } from '../../src/model/canonical.js';
import type { DatabaseModel } from '../../src/model/types.js';
import { normalizeDesired } from '../../src/workflow/normalize.js';

export async function expectRoundTrip(client: Queryable, live: DatabaseModel): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zdm-roundtrip-'));
  try {
    const file = path.join(dir, 'schema.yaml');
    const text = writeDesiredState(live);
    await writeFile(file, text);
    const single = await loadDesiredState(file);
    expect(canonicalize(single.model)).toEqual(canonicalize(live));
    // Written twice, the same bytes.
    expect(writeDesiredState(single.model)).toBe(text);

    const split = path.join(dir, 'split');
    await mkdir(split);
    for (const [name, content] of writeDesiredStateFiles(live)) {
      await mkdir(path.dirname(path.join(split, name)), { recursive: true });
      await writeFile(path.join(split, name), content);
    }
    const merged = await loadDesiredState(split);
    expect(canonicalize(merged.model)).toEqual(canonicalize(live));

    const normalized = await normalizeDesired(client, single.model, live, {
      everything: true,
      tablesPerTransaction: 50,
    });
    expect(canonicalize(normalized)).toEqual(canonicalize(live));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
