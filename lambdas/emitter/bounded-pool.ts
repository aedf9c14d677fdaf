/**
 * Runs `task` for every item with at most `limit` running at once, and settles all of them: one
 * failure never stops the others. Resolves to the failures (item and reason), in no set order.
 */
export async function settleWithLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<{ item: T; reason: unknown }[]> {
  const failures: { item: T; reason: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (reason) {
        failures.push({ item, reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failures;
}
