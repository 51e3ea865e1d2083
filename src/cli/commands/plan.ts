import path from 'node:path';
import * as Flags from '@oclif/core/flags';
import { DriftError, OptionError } from '../../errors.js';
import { BaseCommand, databaseUrlFlag } from '../base.js';
import { writeOutput } from '../files.js';
import { parseDuration } from '../flags.js';
import { useColor } from '../output.js';

export default class PlanCommand extends BaseCommand {
  static override summary = 'Diff the desired state against the live database and write a reviewed, phased plan.';
  static override description =
    `Reads the desired-state YAML (a file or a directory), introspects the database, and writes a plan
file of three phases — expand, backfill, contract — in which every step carries its SQL, whether it runs
in a transaction, the locks it takes and its hazards. Commit the plan and review it like code; then run
it with \`zdm apply PLAN --phase expand\` (then backfill, then contract).

The preview printed first is a unified diff of the live schema (as YAML) against the desired state,
of the objects that differ, then the steps grouped by phase. --format sql prints the plan as a SQL script, markdown as a pull-request
comment, json as JSON. The plan file is written to plans/<UTC time>-<slug>.plan.yaml unless --out says
otherwise. --check writes nothing: it exits 0 when the database already matches, 2 when it does not
(for drift detection in CI).

When the desired state changes a view or materialized view, zdm builds the desired state in a scratch
database (an embedded PostgreSQL of the live server's major version, or --scratch-url) to read the
views back as PostgreSQL normalizes them. Nothing is created on the live database.

Before writing the plan, a data preflight reads the live rows (read-only, each check in a READ ONLY
transaction) that a step would check or convert: rows a CHECK or FOREIGN KEY rejects, NULLs under a
NOT NULL, duplicates under a primary key, unique constraint or unique index, values a type change or
\`using\` expression cannot convert. Any such row stops the plan (exit 1, nothing written) with the
count and up to five of them by key. The checks share one time budget (--preflight-budget, 60s); one
that does not finish in it, or fails, is not skipped silently: the steps it guards get the
data-unchecked hazard, which zdm apply runs only with --allow-hazards data-unchecked.

Then the plan is rehearsed: zdm copies the live schema (schema only, the objects zdm manages) into a
scratch database of the live server's major version (an embedded PostgreSQL, or --scratch-url), applies
every phase there with the apply engine, and reads each step's locks from pg_locks. A step that fails, a
lock a step takes beyond its declared locks, or a schema after contract other than the desired state
stops the plan (exit 4, nothing written): a zdm bug to report. The plan records what rehearsal saw (the
server, each step's locks and duration) in its rehearsal section, under the checksum. --no-rehearse
skips it, and the plan says it was not rehearsed. With --rehearse-rows N the copy also holds up to N
live rows of each table the plan changes (read in a READ ONLY transaction): then a step that fails on
those rows stops the plan as a data problem (exit 1), naming the rows.

zdm refuses to plan while another plan is applied part-way on the database.

With --targets FILE (a fleet: the databases that share one schema), the plan is made against the
reference target (the first of the file, or --reference NAME), and every other target's live schema is
compared with the reference's: those that differ are listed with the objects that differ, and the
command exits 2 (after writing the plan): the plan would be refused there as drift.`;

  static override examples = [
    { description: 'Plan and write plans/<time>-<slug>.plan.yaml', command: '<%= config.bin %> plan --schema schema/' },
    {
      description: 'A name for the plan, markdown for the pull request',
      command: '<%= config.bin %> plan --schema schema.yaml --name orders-check --format markdown > plan.md',
    },
    {
      description: 'Fail CI when production drifted from the committed schema',
      command: '<%= config.bin %> plan --schema schema/ --check',
    },
    {
      description: 'Plan once for a fleet, and check that every database has the same schema',
      command: '<%= config.bin %> plan --schema schema/ --targets targets.yaml',
    },
    {
      description: 'Rename in place, no copy: each application version on its own version schema of views',
      command: '<%= config.bin %> plan --schema schema/ --renames views',
    },
    {
      description: 'Change integer to bigint by copying the table into a new one (a third of the WAL, no bloat)',
      command: '<%= config.bin %> plan --schema schema/ --type-changes swap',
    },
  ];

  static override flags = {
    schema: Flags.string({ char: 's', summary: 'Desired-state YAML file or directory.', required: true }),
    'database-url': databaseUrlFlag,
    out: Flags.string({ char: 'o', summary: 'Plan file to write (default: plans/<UTC time>-<slug>.plan.yaml).' }),
    name: Flags.string({
      char: 'n',
      summary: 'Slug of the plan id and file name (default: derived from the changes).',
    }),
    format: Flags.string({
      char: 'f',
      summary: 'Preview format on stdout.',
      options: ['text', 'sql', 'markdown', 'json'],
      default: 'text',
    }),
    check: Flags.boolean({ summary: 'Write nothing; exit 0 when the database matches the desired state, 2 when not.' }),
    renames: Flags.string({
      summary:
        'How renames are planned: copy (a second column kept in sync and backfilled) or views (renamed in place, each application version on its own version schema of views; README "Choosing a rename path"). Default: the desired state\'s options.renames, else copy.',
      options: ['copy', 'views'],
    }),
    'type-changes': Flags.string({
      summary:
        'How a column type change that rewrites a plain table (integer → bigint) is planned: column (a replacement column kept in sync, backfilled in batches and renamed into place) or swap (the table copied into a new one with the desired types and swapped in by contract: about a third of the WAL, no bloat; README "Choosing a type change path"). Default: the desired state\'s options.typeChanges, else column.',
      options: ['column', 'swap'],
    }),
    'batch-size': Flags.integer({ summary: 'Rows per backfill batch written into the plan.', default: 5000, min: 1 }),
    preflight: Flags.boolean({
      summary: 'Check the live rows the plan checks or converts before writing it (--no-preflight skips it).',
      default: true,
      allowNo: true,
    }),
    'preflight-budget': Flags.string({
      summary: 'Time budget of the whole data preflight; a check still running then is reported as a hazard.',
      default: '60s',
    }),
    rehearse: Flags.boolean({
      summary:
        "Apply the plan to a scratch copy of the live schema and check each step's locks before writing it (--no-rehearse skips it).",
      default: true,
      allowNo: true,
    }),
    'rehearse-rows': Flags.integer({
      summary: 'Rehearse with up to N live rows of each table the plan changes (default 0: schema only).',
      description:
        'Rehearsal on an empty copy proves the SQL and the locks, not the data: a `using` expression that fails on one row, ' +
        'a constraint a row violates. With N > 0, zdm reads up to N rows of each table the plan changes (SELECT … LIMIT N, ' +
        'in no particular order), and the rows those rows reference by foreign key (up to 8 levels), from the live database ' +
        'in one READ ONLY, REPEATABLE READ transaction, each read under a 30 s statement timeout; it loads them into the ' +
        "scratch copy with session_replication_role = replica (the tables' triggers and foreign key checks do not fire: the " +
        'embedded server is a superuser; a --scratch-url role must be one too), generated columns left out for PostgreSQL to ' +
        'compute. A step that then fails on the rows (SQLSTATE class 22 or 23) stops the plan with exit 1 naming the rows: ' +
        'the data, not a zdm bug. The plan records the rows copied per table in its rehearsal section. ' +
        'The rows are a sample: rehearsal with rows is no proof that every live row converts (the data preflight reads those).',
      default: 0,
      min: 0,
    }),
    'scratch-url': Flags.string({
      summary: 'Server to rehearse the plan and normalize views on (default: an embedded PostgreSQL zdm starts).',
      description:
        "zdm rehearses the plan in a scratch database of the live server's major version, and when the desired " +
        'state changes a view it builds the desired state there to read the views back as PostgreSQL prints them. With this flag it creates ' +
        'a database zdm_scratch_<random> on the given server (the user needs CREATEDB) and drops it at the end; ' +
        'without it zdm starts an embedded PostgreSQL (linux-x64), whose cluster it keeps between runs under ' +
        '<OS temp dir>/zdm-cache-<uid> (ZDM_CACHE_DIR moves it; empty keeps none). ' +
        'Example: postgresql://postgres@localhost:5432/postgres.',
      env: 'ZDM_SCRATCH_URL',
      helpGroup: 'DATABASE',
    }),
    targets: Flags.string({
      summary: 'Plan against the reference target of a targets file; check every other has its schema.',
      exclusive: ['database-url'],
      helpGroup: 'FLEET',
    }),
    reference: Flags.string({
      summary: 'Name of the reference target (default: the first).',
      dependsOn: ['targets'],
      helpGroup: 'FLEET',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PlanCommand);
    if (flags.name !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(flags.name)) {
      throw new OptionError(`--name ${JSON.stringify(flags.name)}: use lower-case letters, digits and dashes`);
    }
    if (flags['rehearse-rows'] > 0 && (flags.check || !flags.rehearse)) {
      throw new OptionError(
        `--rehearse-rows ${flags['rehearse-rows']}: rows are copied for the rehearsal, and ${flags.check ? '--check' : '--no-rehearse'} ` +
          'does not rehearse: drop one of the two',
      );
    }
    const preflightBudgetMs = parseDuration(flags['preflight-budget'], '--preflight-budget');
    const [
      { resolveTarget, withClient },
      { defaultPlanPath, serializePlan },
      render,
      { makePlan },
      { loadDesiredState },
    ] = await Promise.all([
      import('../../db/connection.js'),
      import('../../plan/index.js'),
      import('../../render/index.js'),
      import('../../workflow/plan.js'),
      import('../../desired/index.js'),
    ]);
    // The desired state first: a mistyped path or a malformed file is reported as such (exit 1)
    // without a database, even when the database is unreachable.
    const loaded = await loadDesiredState(flags.schema);
    const fleet = flags.targets ? await fleetReference(flags.targets, flags.reference) : undefined;
    const target = fleet?.target ?? resolveTarget(flags['database-url']);
    /** With --targets: whether every other target has the reference's schema (exit 2 when not). */
    const checkFleet = async (): Promise<void> => {
      if (!fleet) return;
      const { compareFleet, renderComparison } = await import('../../fleet/compare.js');
      const c = await compareFleet(fleet.reference, fleet.others);
      this.logToStderr(renderComparison(c));
      if (c.differing.length + c.unreadable.length > 0) {
        throw new DriftError(
          `the fleet has drifted: ${[...c.differing, ...c.unreadable].map((d) => d.name).join(', ')} ` +
            `do not have the schema of the reference ${c.reference.name}; the plan would be refused there`,
        );
      }
    };
    const made = await withClient(target, (c) =>
      makePlan(c, {
        desiredPath: flags.schema,
        loaded,
        batchSize: flags['batch-size'],
        ...(flags.renames !== undefined ? { renames: flags.renames as 'copy' | 'views' } : {}),
        ...(flags['type-changes'] !== undefined ? { typeChanges: flags['type-changes'] as 'column' | 'swap' } : {}),
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags['scratch-url'] ? { scratchUrl: flags['scratch-url'] } : {}),
        preflight: flags.check || !flags.preflight ? false : { budgetMs: preflightBudgetMs },
        ...(flags.check ? {} : { rehearse: flags.rehearse }),
        ...(flags['rehearse-rows'] > 0 ? { rehearseRows: flags['rehearse-rows'] } : {}),
      }),
    );
    const diff = (): string => render.schemaDiff(made.liveYaml, made.desiredYaml);
    if (flags.check) {
      if (made.empty) {
        this.log('the database matches the desired state');
        await checkFleet();
        return;
      }
      process.stdout.write(diff());
      throw new DriftError('the database differs from the desired state (see the diff above)');
    }
    const color = useColor(process.stdout);
    switch (flags.format) {
      case 'sql':
        process.stdout.write(render.renderSql(made.plan));
        break;
      case 'markdown':
        process.stdout.write(render.renderMarkdown(made.plan, diff()));
        break;
      case 'json':
        process.stdout.write(render.renderJson(made.plan));
        break;
      default: {
        const d = diff();
        if (d) process.stdout.write(`${d}\n`);
        process.stdout.write(render.renderText(made.plan, { color }));
      }
    }
    for (const w of made.warnings) this.logToStderr(`warning: ${w}`);
    const passed = made.preflight.filter((o) => o.status === 'passed').length;
    if (passed > 0) this.logToStderr(`data preflight: ${passed} of ${made.preflight.length} checks passed`);
    if (made.plan.rehearsal) {
      const { rehearsalSummary } = await import('../../workflow/rehearse.js');
      this.logToStderr(rehearsalSummary(made.plan.rehearsal));
    }
    if (made.empty) {
      this.logToStderr('nothing to do: the database already matches the desired state (no plan written)');
      await checkFleet();
      return;
    }
    const out = flags.out ?? defaultPlanPath(made.plan.createdAt, made.plan.id.replace(/^\d{8}T\d{6}Z-/, ''));
    await writeOutput(out, serializePlan(made.plan, { schemaRef: schemaRef(out) }), 'plan');
    this.logToStderr(
      `wrote ${out}\nnext: zdm apply ${out} --phase expand${fleet ? ` --targets ${flags.targets}` : ''}`,
    );
    await checkFleet();
  }
}

/** The reference target of a targets file (the first, or the one named) and the others. */
async function fleetReference(file: string, name: string | undefined) {
  const [{ loadTargetsFile }, { connectionOf }] = await Promise.all([
    import('../../fleet/targets.js'),
    import('../../fleet/run.js'),
  ]);
  const { targets } = await loadTargetsFile(file);
  const reference = name === undefined ? targets[0]! : targets.find((t) => t.name === name);
  if (!reference) {
    throw new OptionError(
      `--reference ${name}: no target of that name in ${file} (${targets.map((t) => t.name).join(', ')})`,
    );
  }
  return { reference, others: targets.filter((t) => t !== reference), target: connectionOf(reference) };
}

function schemaRef(outFile: string): string {
  return path.relative(path.dirname(path.resolve(outFile)), path.resolve('node_modules/zdm/schemas/plan.schema.json'));
}
