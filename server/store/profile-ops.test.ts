// applyProfileOps without ClickHouse: op semantics, ordering, versions (see clickhouse.int.test.ts
// for the same ops through the writer).
import { describe, expect, it } from 'vitest';
import type { ProfileOp } from '../../shared/rows.ts';
import { applyProfileOps, type ProfileRow, profileKey } from './profile-ops.ts';

const at = (s: number) => `2024-05-01 09:00:${String(s).padStart(2, '0')}.000`;
const base = { project_id: 'p', profile_id: 'u' };

describe('applyProfileOps', () => {
  it('writes one row per profile with the last op winning', () => {
    const ops: ProfileOp[] = [
      { ...base, op: 'identify', at: at(1), first_name: 'A', email: 'a@x', properties: { k: '1' } },
      { ...base, op: 'identify', at: at(2), first_name: 'B', properties: { k: '2', j: 'x' } },
      { ...base, op: 'increment', at: at(3), property: 'n', by: 2 },
      { ...base, op: 'increment', at: at(4), property: 'n', by: -0.5 },
      { ...base, op: 'increment', at: at(4), property: 'k', by: 1 },
      { ...base, op: 'assign_groups', at: at(5), groups: ['g2', 'g1', 'g2'] },
      { ...base, profile_id: 'other', op: 'increment', at: at(5), property: 'n', by: 1 },
    ];
    expect(applyProfileOps(new Map(), ops)).toEqual([
      {
        project_id: 'p',
        id: 'u',
        first_name: 'B',
        last_name: '',
        email: 'a@x',
        avatar: '',
        properties: { k: '3', j: 'x', n: '1.5' },
        groups: ['g2', 'g1'],
        created_at: at(1),
        updated_at: at(5),
      },
      {
        project_id: 'p',
        id: 'other',
        first_name: '',
        last_name: '',
        email: '',
        avatar: '',
        properties: { n: '1' },
        groups: [],
        created_at: at(5),
        updated_at: at(5),
      },
    ]);
  });

  it('starts from the stored version without modifying it, and never lowers updated_at', () => {
    const stored: ProfileRow = {
      project_id: 'p',
      id: 'u',
      first_name: 'A',
      last_name: 'L',
      email: '',
      avatar: 'img',
      properties: { n: 'abc', keep: '1' },
      groups: ['g1'],
      created_at: at(0),
      updated_at: at(9),
    };
    const current = new Map([[profileKey('p', 'u'), stored]]);
    const snapshot = structuredClone(stored);
    const [row] = applyProfileOps(current, [
      { ...base, op: 'increment', at: at(3), property: 'n', by: 4 },
      { ...base, op: 'assign_groups', at: at(3), groups: ['g0', 'g1'] },
      { ...base, op: 'identify', at: at(2), last_name: '', properties: {} },
    ]);
    expect(row).toEqual({ ...stored, last_name: '', properties: { n: '4', keep: '1' }, groups: ['g1', 'g0'], updated_at: at(9) });
    expect(stored).toEqual(snapshot);
  });

  it('dates a new profile from its earliest op even when ops arrive out of order', () => {
    const [row] = applyProfileOps(new Map(), [
      { ...base, op: 'increment', at: at(7), property: 'n', by: 1 },
      { ...base, op: 'increment', at: at(3), property: 'n', by: 1 },
    ]);
    expect(row).toMatchObject({ created_at: at(3), updated_at: at(7), properties: { n: '2' } });
  });
});

describe('profile property bound', () => {
  // Guards against a profile growing without end: every identify may bring 500 new keys.
  it('keeps at most maxProperties keys: existing ones still update, new ones past the bound are dropped', () => {
    const props = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, 'v']));
    const ops: ProfileOp[] = [
      { op: 'identify', project_id: 'p', profile_id: 'u', at: '2025-01-01 00:00:00.000', properties: props(0, 8) },
      { op: 'identify', project_id: 'p', profile_id: 'u', at: '2025-01-01 00:00:01.000', properties: { ...props(8, 8), k0: 'updated' } },
      { op: 'increment', project_id: 'p', profile_id: 'u', at: '2025-01-01 00:00:02.000', property: 'visits', by: 1 },
    ];
    const [row] = applyProfileOps(new Map(), ops, 10);
    expect(Object.keys(row!.properties)).toHaveLength(10);
    expect(row!.properties.k0).toBe('updated');
    expect(row!.properties.visits).toBeUndefined();
  });
});
