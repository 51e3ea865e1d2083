export * from './changes.js';
export { isBinaryCoercible } from './coercible.js';
export { diffModels } from './diff.js';
export { diffKeyed, type Keyed } from './keyed.js';
export { docPath, type PathSegment } from './paths.js';
