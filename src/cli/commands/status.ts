import * as Flags from '@oclif/core/flags';
import type { StatusReport } from '../../apply/index.js';
import { formatAge } from '../../apply/timing.js';
import type { FleetStatus } from '../../fleet/status.js';
import { BaseCommand, databaseUrlFlag, VERBOSE_ERRORS } from '../base.js';

export default class Status extends BaseCommand {
  static override summary = 'Show the plans applied to a database: phases, steps, backfills in progress.';
  static override description =
    `Reads zdm's journal (schema zdm) on the database: every plan applied there, each phase's state
(pending, in progress, done), each step's state and tries, backfills (and partition-swap copies) in
progress with rows done, and whether an apply is running right now (and who runs it). For each
renamed column between expand and contract: when the old application version last wrote it (the
contract gate of zdm apply), or "none seen since expand". --json prints the same as JSON.

With --targets FILE: the fleet matrix, one line per target and one column per phase of the newest plan
journaled on any target (or --plan ID), with backfill progress, whether an apply runs there now,
whichever worker did the work, and, for each renamed column not contracted yet, when the old
application version last wrote it there. Exit 3 when a target cannot be read.`;

  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --targets targets.yaml --group eu',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    'database-url': databaseUrlFlag,
    verbose: Flags.boolean({ char: 'v', summary: `List every step. ${VERBOSE_ERRORS}` }),
    targets: Flags.string({
      summary: 'The fleet matrix (target × phase) of a targets file.',
      exclusive: ['database-url'],
      helpGroup: 'FLEET',
    }),
    group: Flags.string({ summary: 'Only the targets of this group.', dependsOn: ['targets'], helpGroup: 'FLEET' }),
    plan: Flags.string({
      summary: 'The plan id to show (default: the newest).',
      dependsOn: ['targets'],
      helpGroup: 'FLEET',
    }),
  };

  async run(): Promise<StatusReport | FleetStatus> {
    const { flags } = await this.parse(Status);
    if (flags.targets) {
      const [{ fleetStatus, renderFleetStatus }, { loadTargetsFile }, { selectTargets }] = await Promise.all([
        import('../../fleet/status.js'),
        import('../../fleet/targets.js'),
        import('../../fleet/core.js'),
      ]);
      const file = await loadTargetsFile(flags.targets);
      const targets = selectTargets(file.targets, flags.group !== undefined ? { group: flags.group } : {});
      const status = await fleetStatus(targets, flags.plan !== undefined ? { planId: flags.plan } : {});
      if (!this.jsonEnabled()) this.log(renderFleetStatus(status));
      if (status.rows.some((r) => r.error !== undefined)) {
        if (this.jsonEnabled()) this.logJson(status);
        this.exit(3);
      }
      return status;
    }
    const [{ planStatus }, { resolveTarget, withClient }] = await Promise.all([
      import('../../apply/index.js'),
      import('../../db/connection.js'),
    ]);
    const report = await withClient(resolveTarget(flags['database-url']), (c) => planStatus(c));
    if (!this.jsonEnabled()) this.log(renderStatus(report, flags.verbose));
    return report;
  }
}

export function renderStatus(r: StatusReport, verbose = false): string {
  const lines: string[] = [];
  if (r.activeApply) lines.push(`apply running: ${JSON.stringify(r.activeApply)}`);
  for (const v of r.versions ?? []) {
    lines.push(`live version: ${v.name} (the ${v.role} application version of ${v.base}): search_path ${v.searchPath}`);
  }
  if (!r.journal.exists || r.plans.length === 0) {
    lines.push('no plan has been applied to this database');
    return lines.join('\n');
  }
  for (const p of r.plans) {
    lines.push(
      `${p.id}${p.inFlight ? `  (in flight: next ${p.nextPhase})` : p.nextPhase ? `  (next: ${p.nextPhase})` : '  (complete)'}`,
    );
    for (const ph of p.phases) {
      const done = ph.steps.filter((s) => s.status === 'done').length;
      lines.push(`  ${ph.name.padEnd(9)} ${ph.status.padEnd(12)} ${done}/${ph.steps.length} steps`);
      for (const s of ph.steps) {
        if (!verbose && s.status === 'done') continue;
        if (!verbose && s.status === 'pending' && ph.status === 'pending') continue;
        lines.push(
          `    ${s.id.padEnd(12)} ${s.status.padEnd(8)} ${s.summary}${s.error ? `\n      error: ${s.error}` : ''}`,
        );
      }
    }
  }
  for (const b of r.backfillsInProgress) lines.push(`backfill in progress: ${JSON.stringify(b)}`);
  for (const w of r.oldWrites) {
    lines.push(
      `old-version writes of ${w.table}.${w.column} (renamed to ${w.newColumn}): ` +
        (w.lastWriteAt === null
          ? 'none seen since expand'
          : `last ${w.lastWriteAt} (${formatAge(w.ageSeconds ?? 0)} ago)`),
    );
  }
  return lines.join('\n');
}
