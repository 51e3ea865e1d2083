export * from './changes.js';
export { isBinaryCoercible } from './coercible.js';
export { type DiffOptions, diffModels, type TypeChangePath } from './diff.js';
export { diffKeyed, type Keyed } from './keyed.js';
export { docPath, type PathSegment } from './paths.js';
