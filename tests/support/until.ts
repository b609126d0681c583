/** Polls `ok` every 10 ms until it holds; throws after `ms` (a deadline for a condition, never a timing assertion). */
export async function until(ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}
