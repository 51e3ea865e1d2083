import { OptionError } from '../errors.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, sec: 1000, min: 60_000, m: 60_000, h: 3_600_000 };

/**
 * `--pause`: a duration (`20ms`, `0`) is a fixed pause after each batch; a percentage (`25%`) a pause
 * in proportion to the batch's own duration.
 */
export function parsePause(text: string, flag: string): { pauseMs: number } | { pauseRatio: number } {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) return { pauseRatio: Number(pct[1]) / 100 };
  if (/%/.test(text))
    throw new OptionError(
      `${flag} ${JSON.stringify(text)}: expected a percentage such as 25% or a duration such as 20ms`,
    );
  return { pauseMs: parseDuration(text, flag) };
}

/** `3s`, `500ms`, `10min`, `1h`, or a bare number of milliseconds → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] || 'ms').toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new OptionError(`${flag} ${JSON.stringify(text)}: expected a duration such as 500ms, 3s, 10min or 1h`);
  }
  return Math.round(Number(m[1]) * unit);
}
