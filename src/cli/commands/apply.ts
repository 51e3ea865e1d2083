import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OptionError } from '../../errors.js';
import { HAZARDS, type Hazard, PHASES, type PhaseName } from '../../plan/types.js';
import { BaseCommand, databaseUrlFlag, VERBOSE_ERRORS } from '../base.js';
import { readPlanFile } from '../files.js';
import { parseDuration, parsePause, parseRate, parseShare } from '../flags.js';
import { lockFlags, lockOptions } from '../lock-flags.js';
import { eventPrinter } from '../progress.js';

export default class Apply extends BaseCommand {
  static override summary = 'Run one phase of a plan (expand, backfill, contract) while the application keeps serving.';
  static override description =
    `Before anything runs, apply refuses: a plan edited after it was written (checksum), a phase whose
earlier phases are not complete, steps whose hazards you did not allow with --allow-hazards, and a
database that drifted from the schema the plan expects (it names the objects that differ). Then:

- one apply at a time per database (a session advisory lock);
- every step is journaled in schema zdm; a killed apply resumes at the first unfinished step and never
  reruns a finished one; a backfill resumes from its last committed batch;
- a step never waits in the lock queue behind a long transaction: while a session whose transaction
  has been open longer than --lock-timeout holds a conflicting lock on the step's tables (a report, a
  forgotten idle transaction), zdm waits without queueing (it does not request the lock) and shows
  who blocks (pid, application, state, for how long, its query); then the step tries under
  --lock-timeout (200 ms),
  the longest the application can be held up behind it, and retries with jittered backoff; after
  --lock-wait (10 min) in all it fails, naming the blockers, with nothing of the step applied;
- --cancel-blockers-after cancels, and with --terminate-blockers terminates, sessions that have
  blocked a step for longer than that: each is listed and recorded in zdm.blocker_actions;
- steps that cannot run in a transaction (CREATE INDEX CONCURRENTLY …) run outside one; concurrent
  builds and VALIDATE CONSTRAINT, whose waits hold up no application statement, wait for older
  transactions in one try (up to --lock-wait) instead of timing out; an INVALID index left by a
  failed concurrent build is dropped and built again;
- after the phase, the live schema must be the one the plan expects;
- the contract gate: contract refuses, changing nothing, while the old application version wrote a
  renamed column within --old-writes-quiet (1h), as the sync trigger noted it; --force overrides.

Ctrl-C or SIGTERM stops it after the backfill batch or step under way, with everything done so far
journaled (exit 130); run the same command again to resume. A second Ctrl-C quits at once.

Hazards: data-loss, table-rewrite, blocks-writes, blocks-reads, long-running, app-compat,
unique-scope-change, fires-user-triggers, not-validated, data-unchecked (see the README).

A fleet (--targets FILE, the databases that share one schema): every target is first checked
against the schema the phase expects; drifted targets are listed with what differs and skipped (or,
with --all-or-nothing, the run is refused). Then at most --concurrency targets at a time run the phase
exactly as above, each under its own journal and advisory lock, so a killed run resumes target by
target. --phase contract is refused while any target of the file (or --group; every shard) has not
finished the earlier phases, naming them. --canary K runs the first K targets, then stops unless
--continue (and stops anyway when a canary failed). --shard I/N takes a stable share of the targets
(by a hash of their names) for N workers. A live table on a terminal, plain lines when piped, the
result as JSON with --json. Exit codes of a fleet run: 0 the phase is done on every selected target,
1 refused before anything ran, 2 nothing failed but some targets were skipped (drifted, not ready,
held back by the canary), 3 some targets failed (each listed with its error).`;

  static override examples = [
    '<%= config.bin %> apply plans/20261125T120000Z-orders-check.plan.yaml --phase expand',
    {
      description: 'See what would run, change nothing',
      command: '<%= config.bin %> apply PLAN --phase contract --dry-run',
    },
    {
      description: 'Consent to dropping a column',
      command: '<%= config.bin %> apply PLAN --phase contract --allow-hazards data-loss',
    },
    {
      description: 'Contract once the old version has not written a renamed column for 10 minutes',
      command: '<%= config.bin %> apply PLAN --phase contract --old-writes-quiet 10min',
    },
    {
      description: 'A development database: every phase in a row',
      command: '<%= config.bin %> apply PLAN --phase all',
    },
    {
      description: 'Wait at most 2 minutes for blockers, then fail naming them',
      command: '<%= config.bin %> apply PLAN --phase expand --lock-wait 2min',
    },
    {
      description: 'End runaway reports and forgotten idle transactions that block a step for more than 30 s',
      command: '<%= config.bin %> apply PLAN --phase contract --cancel-blockers-after 30s --terminate-blockers',
    },
    {
      description: 'Expand on a fleet: two canaries first, then the rest, four databases at a time',
      command:
        '<%= config.bin %> apply PLAN --phase expand --targets targets.yaml --canary 2 --continue --concurrency 4',
    },
  ];

  static override args = { plan: Args.string({ required: true, description: 'The plan file (.plan.yaml)' }) };

  static override flags = {
    phase: Flags.string({ char: 'p', required: true, options: [...PHASES, 'all'], summary: 'Phase to run.' }),
    'database-url': databaseUrlFlag,
    'allow-hazards': Flags.string({ summary: 'Comma-separated hazards you consent to, e.g. data-loss,long-running.' }),
    ...lockFlags,
    'statement-timeout': Flags.string({
      summary: 'statement_timeout of each non-backfill statement (0 = off).',
      default: '10min',
    }),
    'batch-size': Flags.integer({ summary: "Rows per backfill batch (default: the plan's).", min: 1 }),
    pause: Flags.string({
      summary: 'Pause after each backfill batch: a share of its duration (25%) or a fixed time (20ms, 0).',
      description:
        "The application's breathing room between batches, which hold row locks while they run. A " +
        "percentage sleeps that share of the batch's own duration, so the pause grows when the server " +
        'is busy and batches slow down; a duration sleeps that long after every batch.',
      default: '25%',
    }),
    'max-replica-lag': Flags.string({
      summary: 'Before each backfill or copy batch, wait while a standby replays more than this far behind (0: never).',
      description:
        "Read from pg_stat_replication's replay_lag on the database applied to (the largest over its standbys), " +
        "before the first batch and then with each batch's journal update; " +
        'the wait shows on the progress line. Reading the lag needs pg_read_all_stats (or superuser); without it ' +
        'no lag is seen and nothing waits. Example: 10s.',
      default: '5s',
    }),
    'max-wal-rate': Flags.string({
      summary: 'Pace backfills and copies so that the server writes WAL at most this fast, e.g. 20MB/s (0: no cap).',
      description:
        "Measured after each batch from pg_current_wal_insert_lsn(): the whole server's WAL (the application's too, " +
        'full-page images included) since the previous batch, over the time since. Above the cap, the next batch ' +
        'waits until the average is back at it. The rate shows on the progress line.',
      default: '0',
    }),
    'vacuum-every': Flags.string({
      summary: 'VACUUM the table each time a backfill has updated this share of its rows, and at its end (0: never).',
      description:
        'A plain VACUUM (not FULL: SHARE UPDATE EXCLUSIVE, no query or write waits for it), so that the next ' +
        'batches reuse the space of the row versions they replaced and the table does not double. It runs on a ' +
        'second connection while the batches go on; the last round is waited for. Skipped for a round when ' +
        'autovacuum or a DDL holds the table.',
      default: '10%',
    }),
    'old-writes-quiet': Flags.string({
      summary:
        'Contract refuses while the old application version wrote a renamed column within this long (0: never refuses).',
      description:
        'While a rename is between expand and contract, the sync trigger notes when a writer last changed only the ' +
        'old column: the old application version (`zdm status` shows it). Contract drops that column, so it refuses ' +
        'while the old version wrote within this period, naming the table, the column and the time of the last write. ' +
        'One hour by default: a stalled rolling deploy, a forgotten instance or an hourly job of the old version ' +
        'writes within it, and waiting costs only time while contracting too early fails their writes.',
      default: '1h',
    }),
    force: Flags.boolean({
      summary: 'Run contract even while the old application version writes (overrides the contract gate only).',
      description:
        'Only the --old-writes-quiet refusal is overridden (and reported); hazards still need --allow-hazards, ' +
        'and drift, checksum and phase order are still checked.',
    }),
    'dry-run': Flags.boolean({ summary: 'Run the checks and print what would run; change nothing.' }),
    verbose: Flags.boolean({ char: 'v', summary: `Print every statement as it runs. ${VERBOSE_ERRORS}` }),
    targets: Flags.string({
      summary: 'Apply to every database of a targets file (schemas/targets.schema.json) instead of one.',
      exclusive: ['database-url'],
      helpGroup: 'FLEET',
    }),
    group: Flags.string({ summary: 'Only the targets of this group.', dependsOn: ['targets'], helpGroup: 'FLEET' }),
    shard: Flags.string({
      summary: 'I/N: this worker takes a stable share of the targets, one of N.',
      dependsOn: ['targets'],
      helpGroup: 'FLEET',
    }),
    concurrency: Flags.integer({
      summary: 'Targets applying at once (default 4).',
      min: 1,
      dependsOn: ['targets'],
      helpGroup: 'FLEET',
    }),
    canary: Flags.integer({
      summary: 'Run the first K targets, then stop (unless --continue).',
      min: 1,
      dependsOn: ['targets'],
      helpGroup: 'FLEET',
    }),
    continue: Flags.boolean({
      summary: 'After the canaries succeeded, run the rest.',
      dependsOn: ['canary'],
      helpGroup: 'FLEET',
    }),
    'all-or-nothing': Flags.boolean({
      summary: 'Refuse the run when any target drifted or is not ready.',
      dependsOn: ['targets'],
      helpGroup: 'FLEET',
    }),
    json: Flags.boolean({ summary: 'Print the fleet result as JSON.', dependsOn: ['targets'], helpGroup: 'FLEET' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Apply);
    const [{ applyPhase, applyPlan }, { connect, resolveTarget }, { parsePlan }] = await Promise.all([
      import('../../apply/index.js'),
      import('../../db/connection.js'),
      import('../../plan/index.js'),
    ]);
    const allow = (flags['allow-hazards'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = allow.filter((h) => !(HAZARDS as readonly string[]).includes(h));
    if (unknown.length) {
      throw new OptionError(`--allow-hazards: unknown hazard(s) ${unknown.join(', ')}; known: ${HAZARDS.join(', ')}`);
    }
    const plan = parsePlan(await readPlanFile(args.plan), args.plan);
    // Ctrl-C or SIGTERM: finish the batch or step under way, journal it, stop with exit 130 (resume by
    // running the phase again). A second one quits at once; PostgreSQL rolls back what was in flight.
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stop.signal.aborted) process.exit(130);
      stop.abort();
      this.logToStderr(
        `${signal}: stopping after the current batch or step (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again quits at once)`,
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const engine = {
        signal: stop.signal,
        allowHazards: allow as Hazard[],
        ...lockOptions(flags),
        statementTimeoutMs: parseDuration(flags['statement-timeout'], '--statement-timeout'),
        maxReplicaLagMs: parseDuration(flags['max-replica-lag'], '--max-replica-lag'),
        maxWalRate: parseRate(flags['max-wal-rate'], '--max-wal-rate'),
        vacuumEvery: parseShare(flags['vacuum-every'], '--vacuum-every'),
        oldWritesQuietMs: parseDuration(flags['old-writes-quiet'], '--old-writes-quiet'),
        force: flags.force,
        ...parsePause(flags.pause, '--pause'),
        dryRun: flags['dry-run'],
        ...(flags['batch-size'] ? { batchSize: flags['batch-size'] } : {}),
      };
      if (flags.targets) {
        const { runFleetApply } = await import('../fleet.js');
        const code = await runFleetApply(plan, engine, { ...flags, targets: flags.targets });
        if (code !== 0) this.exit(code);
        return;
      }
      const print = eventPrinter((l) => this.log(l), process.stdout, { verbose: flags.verbose });
      const target = resolveTarget(flags['database-url']);
      const options = {
        ...engine,
        onEvent: print,
        sideConnection: () => connect(target, 'zdm apply (watching a wait)'),
      };
      const client = await connect(target, 'zdm apply');
      try {
        const { refuseCitus } = await import('../../workflow/citus.js');
        await refuseCitus(client, 'zdm apply');
        if (flags.phase === 'all') await applyPlan(client, plan, options);
        else await applyPhase(client, plan, { ...options, phase: flags.phase as PhaseName });
        // --renames views: the search_path of each application version, and what comes next.
        if (!flags['dry-run']) {
          const { versionNotes } = await import('../../plan/versions.js');
          for (const l of versionNotes(plan, flags.phase === 'all' ? 'contract' : (flags.phase as PhaseName)))
            this.log(l);
        }
      } finally {
        print.finish();
        await client.end().catch(() => {});
      }
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
