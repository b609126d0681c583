import { describe, expect, it } from 'vitest';
import { EventRow } from '../../shared/rows.ts';
import { TrackBody } from '../../shared/track.ts';
import { newDraft } from './draft.ts';
import type { Caller, RequestInfo } from './types.ts';

const caller: Caller = { projectId: 'proj-1', clientId: 'client-1', clientType: 'write', viaSecret: false };
const request: RequestInfo = {
  ip: '203.0.113.9',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  origin: 'https://example.com',
  sdkName: 'web',
  sdkVersion: '1.4.1',
  receivedAt: Date.UTC(2025, 0, 15, 12, 30, 45, 123),
};
const body = (raw: unknown) => TrackBody.parse(raw);

describe('newDraft', () => {
  it('builds a row that satisfies the EventRow schema, named after the track event', () => {
    const d = newDraft(caller, request, body({ type: 'track', payload: { name: 'signup', profileId: 'u1', properties: { plan: 'pro' } } }), 'evt-1');
    expect(EventRow.parse(d.row)).toEqual(d.row);
    expect(d.row).toMatchObject({
      project_id: 'proj-1',
      name: 'signup',
      profile_id: 'u1',
      created_at: '2025-01-15 12:30:45.123',
      received_at: '2025-01-15 12:30:45.123',
      sdk_name: 'web',
      sdk_version: '1.4.1',
      device_id: '',
      session_id: '',
      revenue: 0,
      latitude: null,
      properties: {},
    });
    expect(d.properties).toEqual({ plan: 'pro' });
    expect(d.clientEventId).toBe('evt-1');
    expect(d).toMatchObject({ ip: '203.0.113.9', userAgent: request.userAgent, at: request.receivedAt, serverSide: false });
  });

  it('gives every draft a fresh uuid', () => {
    const b = body({ type: 'track', payload: { name: 'x' } });
    const ids = new Set(Array.from({ length: 50 }, () => newDraft(caller, request, b).row.id));
    expect(ids.size).toBe(50);
    expect(newDraft(caller, request, b).clientEventId).toBeUndefined();
  });

  it('names non-track rows after the body type and stringifies numeric profile ids', () => {
    const d = newDraft(caller, request, body({ type: 'increment', payload: { profileId: 42, property: 'visits' } }));
    expect(d.row.name).toBe('increment');
    expect(d.row.profile_id).toBe('42');
    expect(d.properties).toEqual({});
  });

  it('carries identify properties and leaves profile_id empty where the payload has none', () => {
    const ident = newDraft(caller, request, body({ type: 'identify', payload: { profileId: 'u9', properties: { tier: 'premium' } } }));
    expect(ident.properties).toEqual({ tier: 'premium' });
    const group = newDraft(caller, request, body({ type: 'group', payload: { id: 'g1', name: 'Acme' } }));
    expect(group.row.profile_id).toBe('');
    expect(group.row.name).toBe('group');
  });
});
