/**
 * Tests that read ../shared (the convergence cases, the corpus) skip, saying why, on a checkout
 * without it; in CI (`CI` set, as .ci/run sets it) a missing folder is an error instead, so that
 * those tests can never be skipped there.
 */
export function unavailableOutsideCi(reason: string | null, what: string): string | null {
  if (reason === null) return null;
  if (process.env.CI) throw new Error(`${what}: ${reason} (CI must run these tests: put ../shared beside the clone)`);
  console.log(`${what}: skipped: ${reason}`);
  return reason;
}
