import { createTwoFilesPatch } from 'diff';

/** A unified diff of two desired-state YAML texts (e.g. `zdm pull` output and the desired file), labelled `live` and `desired`. */
export function schemaDiff(liveYaml: string, desiredYaml: string): string {
  return createTwoFilesPatch('live', 'desired', liveYaml, desiredYaml, undefined, undefined, { context: 3 });
}
