/**
 * Passwords out of messages. Apart from connection.ts (which loads `pg`) so that the CLI's error
 * printing can use it without loading the driver.
 */

/** Replaces the password of every URL in `text` (and a given password anywhere) with `***`. */
export function redact(text: string, password?: string): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)([^@\s]*)@/gi, '$1***@');
  out = out.replace(/(password=)([^\s&]+)/gi, '$1***');
  if (password) out = out.split(password).join('***');
  return out;
}
