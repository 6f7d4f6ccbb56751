/**
 * Whether `work` resolves within `ms` (its rejection is passed on). It is not waited for beyond
 * that and goes on by itself: for bounded stops, where what overruns is left behind.
 */
export async function resolvesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
