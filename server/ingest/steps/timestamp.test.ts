import { describe, expect, it } from 'vitest';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { normalizeStep } from './normalize.ts';
import { MAX_FUTURE_SKEW_MS, timestampStep } from './timestamp.ts';

const NOW = Date.UTC(2025, 5, 1, 8, 0, 0, 0);

function draftAt(timestamp?: string): Draft {
  const d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: false },
    { ip: '8.8.8.8', userAgent: '', origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: NOW },
    { type: 'track', payload: { name: 'screen_view', properties: timestamp ? { __timestamp: timestamp } : {} } },
  );
  return timestampStep.run(normalizeStep.run(d) as Draft) as Draft;
}

describe('timestamp step', () => {
  it('keeps a queued event from the past', () => {
    const d = draftAt('2025-06-01T07:15:00.500Z');
    expect(d.at).toBe(Date.UTC(2025, 5, 1, 7, 15, 0, 500));
    expect(d.row.created_at).toBe('2025-06-01 07:15:00.500');
    expect(d.row.received_at).toBe('2025-06-01 08:00:00.000');
  });

  it('believes a client clock up to 60 s ahead', () => {
    const d = draftAt(new Date(NOW + MAX_FUTURE_SKEW_MS).toISOString());
    expect(d.row.created_at).toBe('2025-06-01 08:01:00.000');
  });

  it('replaces a time more than 60 s in the future with the server time', () => {
    const d = draftAt(new Date(NOW + MAX_FUTURE_SKEW_MS + 1).toISOString());
    expect(d.at).toBe(NOW);
    expect(d.row.created_at).toBe('2025-06-01 08:00:00.000');
    expect(draftAt('2031-01-01T00:00:00Z').row.created_at).toBe('2025-06-01 08:00:00.000');
  });

  it('uses the receive time when the client sent none', () => {
    expect(draftAt().row.created_at).toBe('2025-06-01 08:00:00.000');
  });
});
