import { stat } from 'node:fs/promises';
import path from 'node:path';
import * as Flags from '@oclif/core/flags';
import type { UnsupportedFeature } from '../../introspect/index.js';
import type { DatabaseModel } from '../../model/types.js';
import { BaseCommand, databaseUrlFlag } from '../base.js';
import { makeOutputDirectory, writeOutput } from '../files.js';
import { objectCounts } from '../output.js';

export default class Pull extends BaseCommand {
  static override summary = 'Write the live database schema as desired-state YAML.';
  static override description =
    `Introspects the database and writes what zdm manages (schemas, extensions, enums, domains,
composite types, sequences, tables with their columns, keys, checks, foreign keys, exclusion
constraints, indexes, partitions, inheritance, storage parameters, CLUSTER ON, row level security
and its policies, replica identity, identity sequence options and comments, views and materialized
views, functions, procedures, plain aggregates and triggers, collations, text search configurations,
casts, privileges) in the desired-state format; options at
PostgreSQL's defaults are left out. Every schema, table and sequence gets a \`grants\` key (\`{}\`
for none), so the pulled state manages their privileges; a desired state without the key leaves
them alone. A function, procedure or type gets one only when its privileges are not PostgreSQL's
default (EXECUTE / USAGE to PUBLIC). Default privileges (ALTER DEFAULT PRIVILEGES) go in a
top-level \`defaultPrivileges\` section when the database has any, casts (CREATE CAST) in a
top-level \`casts\` list. With --owners, every schema, table, sequence (but an OWNED BY one, which
has its table's), view, materialized view, function, procedure and type gets an \`owner\` key, so
the pulled state manages owners too; without it owners are left out, and not managed. The output
is sorted and stable: the same database gives the same bytes, so it diffs cleanly in version
control. Start a project with it, then edit the YAML.

Ordered-set and moving aggregates, text search dictionaries, rules, range types and other objects are not part of the
desired state yet: pull counts what it left out on stderr, and names anything else it read that
the desired state cannot hold (a comment on the index behind a constraint, …). zdm's own schema
(zdm), system schemas and objects owned by extensions are never written.

--out FILE writes one file, with the queries of views and bodies of functions inline; --out DIR (an
existing directory, or a path ending in /) writes one file per schema plus extensions.yaml (and
default-privileges.yaml, casts.yaml), the query of each view in <schema>/views/<view>.sql
(<schema>/materialized-views/ for materialized views) and
the body of each function in <schema>/functions/<name>.sql (<schema>/procedures/ for procedures),
which the YAML names with file:. Without --out the YAML goes to stdout.`;

  static override examples = [
    { description: 'Print the schema of the database in DATABASE_URL', command: '<%= config.bin %> pull' },
    {
      description: 'Start a desired-state directory',
      command: '<%= config.bin %> pull --database-url postgresql://app@localhost/shop --out schema/',
    },
    { description: 'One file', command: '<%= config.bin %> pull --out schema.yaml' },
    { description: 'Manage owners too', command: '<%= config.bin %> pull --owners --out schema/' },
  ];

  static override flags = {
    'database-url': databaseUrlFlag,
    out: Flags.string({ char: 'o', summary: 'File or directory to write (default: stdout).' }),
    schema: Flags.string({
      summary: 'Only these schemas (repeatable). Default: every schema but system ones and zdm.',
      multiple: true,
    }),
    owners: Flags.boolean({
      summary: 'Write the owner of each object (`owner:`), so that the desired state manages owners.',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Pull);
    const [{ resolveTarget, withClient }, { writeDesiredState, writeDesiredStateFiles }, { introspectDetailed }] =
      await Promise.all([
        import('../../db/connection.js'),
        // The writer alone: the loader (ajv's validator, the YAML readers) is not needed to pull.
        import('../../desired/write.js'),
        import('../../introspect/index.js'),
      ]);
    const target = resolveTarget(flags['database-url']);
    const { model: live, unsupported } = await withClient(target, (c) =>
      introspectDetailed(c, flags.schema ? { schemas: flags.schema } : {}),
    );
    // Owners are written only when asked for: a desired state without `owner:` keys leaves them alone.
    const model: DatabaseModel =
      flags.owners && live.liveOwners !== undefined ? { ...live, owners: live.liveOwners } : live;
    const out = flags.out;
    if (!out) {
      process.stdout.write(writeDesiredState(model));
    } else if (out.endsWith('/') || out.endsWith(path.sep) || (await isDirectory(out))) {
      await makeOutputDirectory(out);
      const files = writeDesiredStateFiles(model);
      // Keys use `/` (the .sql files of views are in per-schema folders); writeOutput makes the folders.
      for (const [name, text] of files) await writeOutput(path.join(out, ...name.split('/')), text, 'desired state');
      this.logToStderr(`wrote ${files.size} file(s) to ${out}`);
    } else {
      await writeOutput(out, writeDesiredState(model, { schemaPath: schemaRef(out) }), 'desired state');
      this.logToStderr(`wrote ${out}`);
    }
    this.logToStderr(leftOutSummary(model, unsupported));
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A `$schema` reference editors can resolve from where the file is written. */
function schemaRef(outFile: string): string {
  const local = path.resolve('schemas/desired-state.schema.json');
  return path.relative(path.dirname(path.resolve(outFile)), local);
}

/** How many of the examples of what the model cannot hold the summary names. */
const NAMED_FEATURES = 5;

export function leftOutSummary(model: DatabaseModel, unsupported: readonly UnsupportedFeature[] = []): string {
  let out = objectCounts(model);
  const left = Object.entries(model.unmanaged ?? {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}(s)`);
  if (left.length > 0) out += `; left out (not managed by zdm yet): ${left.join(', ')}`;
  if (unsupported.length > 0) {
    // Read, but with no place in the desired state: named, so that nothing is dropped silently.
    const named = unsupported.slice(0, NAMED_FEATURES).map((u) => `${u.object}: ${u.feature}`);
    const more = unsupported.length - named.length;
    out +=
      `; ${unsupported.length} thing(s) the desired state cannot hold, not written: ${named.join('; ')}` +
      (more > 0 ? `; and ${more} more` : '');
  }
  return out;
}
