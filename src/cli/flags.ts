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

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** `20MB/s`, `512kB/s`, `1GB/s`, `0` (off) → bytes per second (units of 1024, as PostgreSQL's). */
export function parseRate(text: string, flag: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?b)\/s$/i.exec(t);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || !(Number(m[1]) > 0)) {
    throw new OptionError(`${flag} ${JSON.stringify(text)}: expected a rate such as 20MB/s, 512kB/s or 1GB/s (0: off)`);
  }
  return Math.round(Number(m[1]) * unit);
}

/** `10%` (or `0`, off) → 0.1. */
export function parseShare(text: string, flag: string): number {
  if (text.trim() === '0') return 0;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (!m || Number(m[1]) > 100) {
    throw new OptionError(`${flag} ${JSON.stringify(text)}: expected a percentage such as 10% (0: off)`);
  }
  return Number(m[1]) / 100;
}
