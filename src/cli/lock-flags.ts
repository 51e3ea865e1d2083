/**
 * The flags of `zdm apply` and `zdm rollback` that say how a step waits for its locks (the lock-queue
 * guard, src/apply/guard.ts), and their translation into the engine's options.
 */
import * as Flags from '@oclif/core/flags';
import { OptionError } from '../errors.js';
import { parseDuration } from './flags.js';

export const lockFlags = {
  'lock-timeout': Flags.string({
    summary: 'lock_timeout of each try of a step that would make the application wait behind it (e.g. 200ms, 1s).',
    description:
      'The longest zdm can stall the application: a step that takes a lock stronger than SHARE UPDATE ' +
      'EXCLUSIVE makes every statement of the application on the table queue behind its lock request. Before ' +
      'each try zdm waits, without requesting the lock, while a session whose transaction has been open this ' +
      'long holds a conflicting lock; younger holders are the application itself, and the try goes ahead ' +
      'under this timeout. Also the lock_timeout of each backfill batch.',
    default: '200ms',
    helpGroup: 'LOCKS',
  }),
  'lock-wait': Flags.string({
    summary: 'How long a step may wait for its locks in all, then fails naming who blocks it (e.g. 10min, 30s).',
    description:
      'Over all its tries and waits. Waiting costs the application nothing (zdm does not queue), so it may be ' +
      'long; then the step fails with nothing of it applied, and the same command resumes. Concurrent index ' +
      'builds and VALIDATE CONSTRAINT wait up to this long for older transactions in one try, instead of ' +
      'timing out and starting their table scan again.',
    default: '10min',
    helpGroup: 'LOCKS',
  }),
  retries: Flags.integer({
    summary:
      'At most this many retries after a lock timeout, per step or batch (default: as many as --lock-wait allows).',
    min: 0,
    helpGroup: 'LOCKS',
  }),
  'cancel-blockers-after': Flags.string({
    summary: 'Cancel sessions that have blocked a step for longer than this (e.g. 2min). Default: never.',
    description:
      'pg_cancel_backend: the blocking statement fails, its transaction rolls back and releases its locks. ' +
      'Each session is listed in the output and recorded in zdm.blocker_actions. A session idle in ' +
      'transaction is not reached by a cancel: see --terminate-blockers.',
    helpGroup: 'LOCKS',
  }),
  'terminate-blockers': Flags.boolean({
    summary:
      'With --cancel-blockers-after: terminate blockers a cancel does not end (idle in transaction, or still there 2 s after a cancel).',
    description: 'pg_terminate_backend: the session is closed. For forgotten idle transactions.',
    dependsOn: ['cancel-blockers-after'],
    helpGroup: 'LOCKS',
  }),
};

export interface LockFlagValues {
  readonly 'lock-timeout': string;
  readonly 'lock-wait': string;
  readonly retries?: number | undefined;
  readonly 'cancel-blockers-after'?: string | undefined;
  readonly 'terminate-blockers'?: boolean | undefined;
}

export function lockOptions(flags: LockFlagValues): {
  readonly lockTimeoutMs: number;
  readonly lockWaitMs: number;
  readonly maxLockRetries?: number;
  readonly cancelBlockersAfterMs?: number;
  readonly terminateBlockers: boolean;
} {
  const lockTimeoutMs = parseDuration(flags['lock-timeout'], '--lock-timeout');
  if (lockTimeoutMs < 1) throw new OptionError('--lock-timeout: must be at least 1ms (0 would mean no timeout at all)');
  const cancel = flags['cancel-blockers-after'];
  return {
    lockTimeoutMs,
    lockWaitMs: parseDuration(flags['lock-wait'], '--lock-wait'),
    ...(flags.retries === undefined ? {} : { maxLockRetries: flags.retries }),
    ...(cancel === undefined ? {} : { cancelBlockersAfterMs: parseDuration(cancel, '--cancel-blockers-after') }),
    terminateBlockers: flags['terminate-blockers'] === true,
  };
}
