// Runs the FunnelProgress contract against real Redis (every peer has its own connection) and
// measures what one visit's progress costs in Redis memory (the figure docs/realtime.md states).
import { describe, expect, it } from 'vitest';
import { createTestRedis, redisHarness } from '../../tests/support/redis.ts';
import { describeFunnelProgress } from './funnel-progress.contract.ts';
import { createRedisFunnelProgress } from './funnel-progress.redis.ts';

describeFunnelProgress('redis', () => redisHarness((redis, prefix) => createRedisFunnelProgress({ redis, prefix })));

describe('FunnelProgress in Redis: memory per visit', () => {
  it('stays around 200 bytes per visit in a funnel', async () => {
    const t = await createTestRedis();
    try {
      const store = createRedisFunnelProgress({ redis: t.client, prefix: t.prefix });
      const scope = `${'p'.repeat(36)}:${'k'.repeat(16)}`;
      const from = Date.now();
      await store.claim(scope, from);
      await store.seed(scope, from, [], { steps: 2, windowMs: 86_400_000 });
      const rows = Array.from({ length: 1000 }, (_, i) => ({ session: crypto.randomUUID(), mask: 1, at: from + i }));
      await store.advance(scope, from, rows, { steps: 2, windowMs: 86_400_000 });
      const keys = await t.client.keys(`${t.prefix}fn:${scope}:*`);
      expect(keys.length).toBe(1000);
      let bytes = 0;
      for (const k of keys.slice(0, 100)) bytes += Number(await t.client.memory('USAGE', k));
      const perVisit = bytes / 100;
      console.log(`funnel progress: ${perVisit.toFixed(0)} bytes per visit (MEMORY USAGE, UUID session ids, 2 steps)`);
      expect(perVisit).toBeLessThan(400);
    } finally {
      await t.cleanup();
    }
  });
});
