/** Quoting lives in the model layer (types-text needs it too); every renderer imports it from here. */
export { identList, qualifiedName, quoteIdent, quoteLiteral, RESERVED_KEYWORDS } from '../model/quote.js';
