/**
 * Which tiles a node aggregates. Guards against: a tile kept after its last screen left (cost
 * that never goes away), a dead node's announcements kept forever, a peer's spec under a key
 * that does not match it (peers on another version must not share a key), and the per-project
 * bound being bypassed through announcements.
 */
import { describe, expect, it } from 'vitest';
import { TileSpec } from '../../shared/live-tiles.ts';
import { createTileRegistry } from './tile-registry.ts';
import { resolveTile } from './tile-spec.ts';
import { createTileSet } from './tiles.ts';

const tile = (minutes: number) => resolveTile(TileSpec.parse({ kind: 'rate', metric: 'events', minutes }));

describe('tile registry', () => {
  it('aggregates a local tile while a screen watches it, a remote one until its announcements stop', () => {
    let now = 0;
    const tiles = createTileSet({ perProject: 3 });
    const r = createTileRegistry({ tiles, remoteTtlMs: 1000, now: () => now });
    const a = tile(5);
    expect(r.addLocal('p', a)).toBe(true);
    expect(r.addLocal('p', a)).toBe(true); // a second screen
    r.removeLocal('p', a.key);
    expect([...tiles.tiles('p').keys()]).toEqual([a.key]);
    r.removeLocal('p', a.key);
    expect(tiles.has('p')).toBe(false);

    const b = tile(6);
    r.addRemote('p', { [b.key]: b.spec });
    r.addRemote('p', { wrongkey: b.spec, other: { kind: 'nope' } }); // skipped
    expect([...tiles.tiles('p').keys()]).toEqual([b.key]);
    now = 900;
    r.addRemote('p', { [b.key]: b.spec }); // repeated: kept
    now = 1500;
    r.expire();
    expect(tiles.has('p')).toBe(true);
    now = 3000;
    r.expire();
    expect(tiles.has('p')).toBe(false);
  });

  it('holds the per-project bound whoever asks', () => {
    const tiles = createTileSet({ perProject: 2 });
    const r = createTileRegistry({ tiles });
    expect(r.addLocal('p', tile(1))).toBe(true);
    const b = tile(2);
    r.addRemote('p', { [b.key]: b.spec });
    expect(r.addLocal('p', tile(3))).toBe(false);
    const c = tile(4);
    r.addRemote('p', { [c.key]: c.spec });
    expect(tiles.tiles('p').size).toBe(2);
    expect(r.addLocal('q', tile(3))).toBe(true); // another project has its own bound
  });
});
