/**
 * The desired-state YAML format, version 1: loading (YAML → ajv → model, with located errors) and
 * writing (model → YAML, for `zdm pull`).
 */
export { type DesiredIssue, DesiredStateError, formatIssue } from './errors.js';
export {
  type DesiredSource,
  type LoadedDesiredState,
  loadDesiredSources,
  loadDesiredState,
  parseDesiredState,
} from './load.js';
export { formatPath, locate, type PathSegment, type SourceLocation, type SourceMap } from './paths.js';
export { DESIRED_STATE_SCHEMA_PATH } from './validate.js';
export { DEFAULT_SCHEMA_PATH, type WriteOptions, writeDesiredState, writeDesiredStateFiles } from './write.js';
