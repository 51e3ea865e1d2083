/**
 * The round trip a team starts with: `zdm pull --out DIR` of a real schema, then `zdm plan` of that
 * directory against the same database must be empty — functions (bodies byte for byte, SQL-standard
 * ones as the server prints them), triggers, views and tables all compare equal to what was read.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDesiredStateFiles } from '../../src/desired/write.js';
import { introspect } from '../../src/introspect/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { corpusUnavailableReason, listCorpus, loadCorpus, missingExtensions } from '../support/corpus.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { unavailableOutsideCi } from '../support/shared-folder.js';

const unavailable = unavailableOutsideCi(corpusUnavailableReason(), 'corpus-plan');
const entries =
  unavailable === null
    ? listCorpus().filter((e) => e.name === 'pagila' || e.name === 'evaka' || e.name === 'musicbrainz')
    : [];

describe.skipIf(unavailable !== null)('pull → plan against the same database is empty', () => {
  const dbs: TestDatabase[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.for(entries.map((e) => [e.name, e] as const))(
    '%s',
    { timeout: 240_000 },
    async ([, entry], ctx): Promise<void> => {
      const db = await freshDatabase(`corpus plan ${entry.name}`);
      dbs.push(db);
      const missing = await missingExtensions(db, entry);
      if (missing.length > 0) {
        ctx.skip(`${entry.name}: server lacks extension(s) ${missing.join(', ')}`);
        return;
      }
      await loadCorpus(db, entry.name);
      const model = await introspect(db.client);
      const functions = model.schemas.reduce((n, s) => n + s.functions.length, 0);
      const triggers = model.schemas.reduce((n, s) => n + s.triggers.length, 0);
      expect(functions, 'the schema has functions').toBeGreaterThan(0);
      expect(triggers, 'the schema has triggers').toBeGreaterThan(0);
      const dir = await mkdtemp(path.join(tmpdir(), `zdm-corpus-plan-${entry.name}-`));
      dirs.push(dir);
      for (const [name, text] of writeDesiredStateFiles(model)) {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await writeFile(path.join(dir, name), text);
      }
      const made = await makePlan(db.client, { desiredPath: dir, scratchUrl: adminUrl() });
      expect(made.plan.phases.flatMap((p) => p.steps.map((x) => x.summary))).toEqual([]);
      expect(made.empty).toBe(true);
    },
  );
});
