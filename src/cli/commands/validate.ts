import * as Args from '@oclif/core/args';
import { BaseCommand } from '../base.js';
import { objectCounts } from '../output.js';

export default class Validate extends BaseCommand {
  static override summary = 'Check a desired-state file or directory without touching any database.';
  static override description =
    `Parses the YAML, checks it against schemas/desired-state.schema.json and then checks what a
JSON Schema cannot: names longer than 63 bytes, duplicate definitions across the files of a
directory, foreign keys whose target table or columns do not exist, key and index columns that the
table does not have. Every problem is printed as file:line:column, the path in the document and what
was expected, and the command exits 1. Exits 0 and prints a one-line summary when the input is valid.`;

  static override examples = [
    '<%= config.bin %> validate schema.yaml',
    { description: 'A directory of YAML files merged together', command: '<%= config.bin %> validate schema/' },
  ];

  static override args = {
    path: Args.string({ required: true, description: 'A .yaml file, or a directory of .yaml/.yml files' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Validate);
    const { loadDesiredState } = await import('../../desired/index.js');
    const { model } = await loadDesiredState(args.path);
    this.log(`${args.path}: valid (${objectCounts(model)})`);
  }
}
