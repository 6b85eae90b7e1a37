// When to try the tenant again after it could not be reached: soon at first, then less often,
// never more than a minute apart, so a desk left open all day reconnects by itself.
export const RETRY_FIRST_MS = 5_000;
export const RETRY_MAX_MS = 60_000;

/** The wait before retry number `attempt` (0 for the first). */
export function retryDelay(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, attempt));
}
