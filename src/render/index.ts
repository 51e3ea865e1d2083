export { renderJson } from './json.js';
export { renderMarkdown } from './markdown.js';
export { schemaDiff } from './schema-diff.js';
export { renderSql } from './sql.js';
export { renderText, type TextOptions } from './text.js';
