export { planChecksum, withChecksum } from './checksum.js';
export { PlanFileError, type PlanFileIssue, PlanningError, type PlanningIssue } from './errors.js';
export {
  DEFAULT_PLAN_SCHEMA_REF,
  defaultPlanPath,
  parsePlan,
  planId,
  planTimestamp,
  type SerializeOptions,
  serializePlan,
  slugify,
} from './file.js';
export { generatedName, notNullCheckName } from './names.js';
export { GROUPS } from './order.js';
export { PLAN_SCHEMA } from './plan-schema.js';
export {
  type PlanOptions,
  type PlanResult,
  planChanges,
  serverMajor,
  suggestSlug,
} from './planner.js';
export { type PlanModels, planScope } from './scope.js';
export * from './types.js';
export { isVolatileDefault } from './volatility.js';
