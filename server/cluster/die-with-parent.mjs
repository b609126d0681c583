// Preloaded (`node --import`) into Livepanel processes that a test harness or `dev:cluster`
// starts: the parent holds this process's stdin open, so when the parent goes away — even
// SIGKILLed, or a test runner that timed out — stdin ends and this process exits instead of
// lingering as an orphan server on a random port. Plain JavaScript: worker threads (the
// insert thread) inherit preloads but not tsx's loader for them; nor the stdin (theirs ends at
// once), so only the main thread watches.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.stdin.on('end', () => process.exit(1));
  process.stdin.on('error', () => process.exit(1));
  process.stdin.resume();
}
