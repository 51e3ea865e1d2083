/**
 * `zdm plan --targets`: plan once against a reference target, and check that every other target has
 * the reference's live schema (zdm's journal left out), so that the plan applies to all of them.
 * A target that differs is a finding for the user: the fleet has drifted.
 */
import { liveSchema } from '../apply/index.js';
import { connect } from '../db/connection.js';
import { messageOf } from '../errors.js';
import type { ObjectDifference } from '../model/objects.js';
import { compareSchemas, runPool } from './core.js';
import { connectionOf } from './run.js';
import type { FleetTarget } from './targets.js';

export interface FleetComparison {
  readonly reference: { readonly name: string; readonly fingerprint: string };
  /** Targets with the reference's schema, in file order. */
  readonly same: readonly string[];
  readonly differing: readonly {
    readonly name: string;
    readonly fingerprint: string;
    readonly differences: readonly ObjectDifference[];
  }[];
  readonly unreadable: readonly { readonly name: string; readonly error: string }[];
}

export async function compareFleet(
  reference: FleetTarget,
  others: readonly FleetTarget[],
  concurrency = 8,
): Promise<FleetComparison> {
  const read = async (t: FleetTarget) => {
    const c = await connect(connectionOf(t), 'zdm plan (fleet check)');
    try {
      return await liveSchema(c);
    } finally {
      await c.end().catch(() => {});
    }
  };
  const ref = await read(reference);
  const results = new Map<string, Awaited<ReturnType<typeof read>> | { error: string }>();
  await runPool(others, concurrency, async (t) => {
    results.set(t.name, await read(t).catch((err: unknown) => ({ error: messageOf(err) })));
  });
  const same: string[] = [];
  const differing: FleetComparison['differing'][number][] = [];
  const unreadable: { name: string; error: string }[] = [];
  for (const t of others) {
    const r = results.get(t.name)!;
    if ('error' in r) unreadable.push({ name: t.name, error: r.error });
    else if (r.fingerprint === ref.fingerprint) same.push(t.name);
    else
      differing.push({ name: t.name, fingerprint: r.fingerprint, differences: compareSchemas(ref.objects, r.objects) });
  }
  return { reference: { name: reference.name, fingerprint: ref.fingerprint }, same, differing, unreadable };
}

/** The comparison for a person: one line per target that differs, with its objects. */
export function renderComparison(c: FleetComparison): string {
  const word = { changed: 'differs', missing: 'is missing', unexpected: 'exists only there' } as const;
  const total = c.same.length + c.differing.length + c.unreadable.length;
  const lines = [
    `fleet: ${c.same.length} of ${total} other target(s) have the schema of the reference ${c.reference.name} (${c.reference.fingerprint})`,
  ];
  for (const d of c.differing) {
    const objects = d.differences.map((x) => `${x.object} ${word[x.difference]}`).join(', ');
    lines.push(
      `  ${d.name} differs (${d.fingerprint}): ${objects || 'in parts of the schema zdm does not list per object'}`,
    );
  }
  for (const u of c.unreadable) lines.push(`  ${u.name} could not be read: ${u.error}`);
  return lines.join('\n');
}
