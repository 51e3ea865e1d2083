/**
 * The fleet side of `zdm apply --targets` (loaded only when the flag is given): load and select the
 * targets, run the phase across them (src/fleet/), render the progress and the result.
 */
import type { ApplyOptions } from '../apply/index.js';
import { OptionError } from '../errors.js';
import { parseShard, selectTargets } from '../fleet/core.js';
import { applyFleet } from '../fleet/run.js';
import { loadTargetsFile } from '../fleet/targets.js';
import type { PhaseName, Plan } from '../plan/types.js';
import { fleetPrinter } from './fleet-progress.js';

export interface FleetFlags {
  readonly phase: string;
  readonly targets: string;
  readonly group?: string | undefined;
  readonly shard?: string | undefined;
  readonly concurrency?: number | undefined;
  readonly canary?: number | undefined;
  readonly continue?: boolean | undefined;
  readonly 'all-or-nothing'?: boolean | undefined;
  readonly json?: boolean | undefined;
}

/** Runs the phase across the targets; resolves with the exit code of the run. */
export async function runFleetApply(
  plan: Plan,
  engine: Omit<ApplyOptions, 'phase' | 'onEvent' | 'sideConnection'>,
  flags: FleetFlags,
): Promise<number> {
  if (flags.phase === 'all') {
    throw new OptionError(
      '--phase all runs every phase in a row on one database; across a fleet run expand, backfill and contract one at a time',
    );
  }
  const file = await loadTargetsFile(flags.targets);
  const group = selectTargets(file.targets, flags.group !== undefined ? { group: flags.group } : {});
  const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
  const mine = shard ? selectTargets(group, { shard }) : group;
  const others = group.filter((t) => !mine.includes(t));
  const print = flags.json ? undefined : fleetPrinter(process.stdout);
  const result = await applyFleet(plan, {
    phase: flags.phase as PhaseName,
    targets: mine,
    otherShards: others,
    concurrency: flags.concurrency ?? 4,
    ...(flags.canary !== undefined ? { canary: flags.canary } : {}),
    continueAfterCanary: flags.continue === true,
    allOrNothing: flags['all-or-nothing'] === true,
    apply: engine,
    ...(print ? { onEvent: print } : {}),
  });
  if (print) print.finish(result);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.exitCode;
}
