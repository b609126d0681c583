/**
 * Profile changes as pure functions: the writer reads the current version of every profile a
 * batch touches, `applyProfileOps` replays the batch's ops on them in order, and the result
 * (one row per changed profile) is inserted as the new versions of the ReplacingMergeTree.
 */
import type { ProfileOp } from '../../shared/rows.ts';

/** One version of a profile, as stored in `profiles` (db/clickhouse/003_profiles.sql). */
export interface ProfileRow {
  project_id: string;
  id: string;
  first_name: string;
  last_name: string;
  email: string;
  avatar: string;
  properties: Record<string, string>;
  groups: string[];
  created_at: string;
  updated_at: string;
}

/** Key of a profile in maps: project and id. */
export function profileKey(projectId: string, profileId: string): string {
  return `${projectId}\u0000${profileId}`;
}

/**
 * Applies `ops` in order on top of `current` (keyed by `profileKey`; not modified) and returns
 * the new version of each profile they touch, one row per profile, in first-touch order.
 * - identify sets the given name, email and avatar fields and merges properties;
 * - increment adds `by` to a numeric property (missing or not a number counts as 0);
 * - assign_groups adds groups not yet present, keeping the existing order.
 * A new profile starts empty with created_at = its first op's time. updated_at is the latest
 * op time, never below the stored version's, so the new row always wins the replacement
 * (on a tie the later insert wins).
 */
export function applyProfileOps(
  current: ReadonlyMap<string, ProfileRow>,
  ops: readonly ProfileOp[],
  maxProperties = DEFAULT_MAX_PROFILE_PROPERTIES,
): ProfileRow[] {
  const next = new Map<string, ProfileRow>();
  for (const op of ops) {
    const key = profileKey(op.project_id, op.profile_id);
    let p = next.get(key);
    if (!p) {
      const cur = current.get(key);
      p = cur ? { ...cur, properties: { ...cur.properties }, groups: [...cur.groups] } : emptyProfile(op.project_id, op.profile_id, op.at);
      next.set(key, p);
    }
    if (op.at > p.updated_at) p.updated_at = op.at;
    if (op.at < p.created_at && !current.has(key)) p.created_at = op.at;
    switch (op.op) {
      case 'identify':
        if (op.first_name !== undefined) p.first_name = op.first_name;
        if (op.last_name !== undefined) p.last_name = op.last_name;
        if (op.email !== undefined) p.email = op.email;
        if (op.avatar !== undefined) p.avatar = op.avatar;
        setProperties(p.properties, op.properties, maxProperties);
        break;
      case 'increment': {
        const was = Number(p.properties[op.property] ?? 0);
        setProperties(p.properties, { [op.property]: String((Number.isFinite(was) ? was : 0) + op.by) }, maxProperties);
        break;
      }
      case 'assign_groups':
        for (const g of op.groups) if (!p.groups.includes(g)) p.groups.push(g);
        break;
    }
  }
  return [...next.values()];
}

/**
 * Most properties one profile keeps (MAX_PROFILE_PROPERTIES). Every identify may add up to 500
 * new keys; without a bound one profile's row would grow with each call, in every version.
 */
export const DEFAULT_MAX_PROFILE_PROPERTIES = 1000;

/** Sets `from`'s keys on `into`: existing keys are updated; new ones only while `into` has fewer than `max`. */
function setProperties(into: Record<string, string>, from: Record<string, string>, max: number): void {
  let size = Object.keys(into).length;
  for (const k of Object.keys(from)) {
    const has = Object.hasOwn(into, k);
    if (!has && size >= max) continue;
    if (!has) size++;
    Object.defineProperty(into, k, { value: from[k], enumerable: true, writable: true, configurable: true });
  }
}

function emptyProfile(projectId: string, id: string, at: string): ProfileRow {
  return {
    project_id: projectId,
    id,
    first_name: '',
    last_name: '',
    email: '',
    avatar: '',
    properties: {},
    groups: [],
    created_at: at,
    updated_at: at,
  };
}
