import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, databaseUrlFlag } from '../base.js';
import { readPlanFile } from '../files.js';
import { lockFlags, lockOptions } from '../lock-flags.js';
import { eventPrinter } from '../progress.js';

export default class Rollback extends BaseCommand {
  static override summary = 'Undo the expand and backfill phases of a plan, before its contract phase.';
  static override description =
    `Drops what the plan's expand phase added (new columns, sync triggers and their functions, indexes
built concurrently, constraints added NOT VALID, new views and materialized views), newest first; the
old columns and their data were never touched. The plan's journal entries are removed, and the live
schema must then be the one the plan started from. Refused once contract has started (the old columns
may be gone), and for steps that have no safe inverse (a backfill into a column that existed before
the plan, a view replaced with CREATE OR REPLACE, say): nothing is changed then, and every such step
is named.

Each DROP waits for its locks as apply's steps do: without queueing while a long transaction holds
the table (the progress line names it), then under --lock-timeout per try, --lock-wait in all;
--cancel-blockers-after and --terminate-blockers end sessions that block it for longer than that.`;

  static override examples = [
    '<%= config.bin %> rollback plans/20261125T120004Z-rename-display-name.plan.yaml',
    { description: 'See what would run, change nothing', command: '<%= config.bin %> rollback PLAN --dry-run' },
    {
      description: 'Cancel sessions that block a DROP for more than a minute',
      command: '<%= config.bin %> rollback PLAN --cancel-blockers-after 1min',
    },
  ];

  static override args = { plan: Args.string({ required: true, description: 'The plan file (.plan.yaml)' }) };

  static override flags = {
    'database-url': databaseUrlFlag,
    ...lockFlags,
    'dry-run': Flags.boolean({ summary: 'Print what would run; change nothing.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rollback);
    const [{ rollbackPlan }, { connect, resolveTarget }, { parsePlan }] = await Promise.all([
      import('../../apply/rollback.js'),
      import('../../db/connection.js'),
      import('../../plan/index.js'),
    ]);
    const plan = parsePlan(await readPlanFile(args.plan), args.plan);
    const target = resolveTarget(flags['database-url']);
    const print = eventPrinter((l) => this.log(l), process.stdout);
    const client = await connect(target, 'zdm rollback');
    try {
      const r = await rollbackPlan(client, plan, {
        ...lockOptions(flags),
        dryRun: flags['dry-run'],
        onEvent: print,
        sideConnection: () => connect(target, 'zdm rollback (watching a wait)'),
      });
      print.finish();
      if (r.nothingToDo) this.log(`plan ${plan.id} has not been applied to this database: nothing to roll back`);
      else this.log(`plan ${plan.id} ${r.dryRun ? 'would be' : 'is'} rolled back (${r.undone.length} steps undone)`);
    } finally {
      print.finish();
      await client.end().catch(() => {});
    }
  }
}
