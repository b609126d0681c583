import { describe, expect, it } from 'vitest';
import { INITIAL_LINK, type LinkEvent, type LinkState, nextLink, retryDelayMs } from './link.ts';

function run(events: LinkEvent[], from: LinkState = INITIAL_LINK) {
  let state = from;
  const actions: string[][] = [];
  events.forEach((e, i) => {
    const t = nextLink(state, e, 1000 + i);
    state = t.state;
    actions.push(t.actions);
  });
  return { state, actions };
}

describe('live link state machine', () => {
  it('is live only after connecting and syncing', () => {
    const { state, actions } = run([{ type: 'connected' }, { type: 'synced' }]);
    expect(state).toEqual({ status: 'live', since: 1001 });
    expect(actions).toEqual([['drop-values', 'subscribe'], []]);
    expect(run([{ type: 'synced' }]).state.status).toBe('connecting');
  });

  it('drops its values and reconnects after a loss, then re-syncs before it is live again', () => {
    const { state, actions } = run([
      { type: 'connected' },
      { type: 'synced' },
      { type: 'lost', detail: 'transport close' },
      { type: 'retry' },
      { type: 'retry' },
    ]);
    expect(state).toEqual({ status: 'reconnecting', detail: 'transport close', attempt: 2, since: 1002 });
    expect(actions[2]).toEqual(['drop-values', 'schedule-retry']);
    const back = run([{ type: 'connected' }, { type: 'synced' }], state);
    expect(back.state.status).toBe('live');
    expect(back.actions[0]).toEqual(['drop-values', 'subscribe']);
  });

  it('treats the browser going offline and a lost tick as losses', () => {
    expect(run([{ type: 'connected' }, { type: 'synced' }, { type: 'offline' }]).state).toMatchObject({
      status: 'reconnecting',
      detail: 'this device is offline',
    });
    const gap = run([{ type: 'connected' }, { type: 'synced' }, { type: 'gap' }]);
    expect(gap.state.status).toBe('syncing');
    expect(gap.actions[2]).toEqual(['drop-values', 'subscribe']);
  });

  it('stops on a refusal of the credentials, retries any other', () => {
    const refused = run([{ type: 'connected' }, { type: 'refused', code: 'expired', message: 'gone' }, { type: 'connected' }]);
    expect(refused.state).toEqual({ status: 'refused', code: 'expired', message: 'gone' });
    const retry = run([{ type: 'refused', code: 'not_ready', message: 'starting' }]);
    expect(retry.state).toMatchObject({ status: 'reconnecting', detail: 'starting' });
    expect(retry.actions[0]).toContain('schedule-retry');
  });

  it('backs off exponentially to 30 s with jitter', () => {
    expect(retryDelayMs(0, () => 0.5)).toBe(1000);
    expect(retryDelayMs(3, () => 0.5)).toBe(8000);
    expect(retryDelayMs(50, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(50, () => 1)).toBe(36_000);
    expect(retryDelayMs(0, () => 0)).toBe(800);
  });
});
