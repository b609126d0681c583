/**
 * Preloaded (`node --import`) into Livepanel processes that a test harness or `dev:cluster`
 * starts: the parent holds this process's stdin open, so when the parent goes away — even
 * SIGKILLed, or a test runner that timed out — stdin ends and this process exits instead of
 * lingering as an orphan server on a random port.
 */
process.stdin.on('end', () => process.exit(1));
process.stdin.on('error', () => process.exit(1));
process.stdin.resume();
