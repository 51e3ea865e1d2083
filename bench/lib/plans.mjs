// Hand-built plans for the benchmarks, the way test/support/plans.ts builds them for the apply tests:
// the steps are given, and what the planner would have recorded around them (each phase's before /
// after fingerprints and the per-object fingerprints) is computed by introspecting the database now
// and after running the steps' SQL in a transaction that is rolled back. The checksum is the real
// one (src/plan/checksum.ts).
import { introspect } from '../../dist/introspect/index.js';
import { fingerprint, sha256 } from '../../dist/model/canonical.js';
import { ABSENT, objectFingerprints, withoutJournal } from '../../dist/model/objects.js';
import { withChecksum } from '../../dist/plan/checksum.js';

/** A BackfillStep as the planner emits it (src/plan/techniques/columns.ts): `set`, `where col IS NULL`. */
export function backfillStep(id, table, set, { where, batchSize = 5000 } = {}) {
  const [schema, name] = table.includes('.') ? table.split('.') : ['public', table];
  const cols = Object.keys(set);
  const w = where ?? cols.map((c) => `"${c}" IS NULL`).join(' AND ');
  return {
    kind: 'backfill',
    id,
    summary: `backfill ${schema}.${name}.${cols.join(', ')} where NULL, in batches`,
    transaction: false,
    table: { schema, name },
    set,
    where: w,
    batchSize,
    locks: [{ relation: `${schema}.${name}`, mode: 'ROW EXCLUSIVE', hold: 'scan' }],
    hazards: ['long-running'],
    sql: [`UPDATE ${schema}.${name} SET … WHERE ${w} AND key > $cursor AND key <= $upper`],
  };
}

export function sqlStep(id, sql, { transaction = true } = {}) {
  const statements = typeof sql === 'string' ? [sql] : sql;
  return {
    kind: 'sql',
    id,
    summary: statements[0].replace(/\s+/g, ' ').slice(0, 80),
    sql: statements,
    transaction,
    locks: [],
    hazards: [],
  };
}

async function snapshot(client, inTransaction) {
  const model = withoutJournal(await introspect(client, inTransaction ? { inTransaction: true } : {}));
  return { fingerprint: fingerprint(model), objects: objectFingerprints(model) };
}

/** A plan of `spec.expand`, `spec.backfill`, `spec.contract` steps against the database as it is now. */
export async function buildPlan(client, spec) {
  const start = await snapshot(client, false);
  const server = await client.query(`SELECT pg_catalog.current_setting('server_version') AS v`);
  const phases = [];
  await client.query('BEGIN');
  try {
    let before = start;
    for (const name of ['expand', 'backfill', 'contract']) {
      const steps = spec[name] ?? [];
      for (const step of steps) {
        if (step.kind !== 'sql') continue;
        for (const s of step.sql) await client.query(s.replace(/\s+CONCURRENTLY\b/gi, ''));
      }
      const after = await snapshot(client, true);
      const touched = new Set();
      for (const key of new Set([...Object.keys(before.objects), ...Object.keys(after.objects)])) {
        if (before.objects[key] !== after.objects[key]) touched.add(key);
      }
      for (const step of steps)
        if (step.kind === 'backfill') touched.add(`table ${step.table.schema}.${step.table.name}`);
      const objects = {};
      const objectsAfter = {};
      for (const key of [...touched].sort()) {
        objects[key] = before.objects[key] ?? ABSENT;
        objectsAfter[key] = after.objects[key] ?? ABSENT;
      }
      phases.push({ name, before: before.fingerprint, after: after.fingerprint, objects, objectsAfter, steps });
      before = after;
    }
  } finally {
    await client.query('ROLLBACK');
  }
  return withChecksum({
    version: 1,
    id: spec.id,
    zdm: '0.1.0',
    createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    source: {
      desiredSha256: sha256('bench'),
      server: `PostgreSQL ${server.rows[0].v}`,
      fingerprint: start.fingerprint,
    },
    phases,
  });
}
