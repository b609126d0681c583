/**
 * Visitors: who is on a project right now, counted as devices (a browser, an app install),
 * not sockets or tabs. Two measures:
 * - online: distinct devices with at least one open SDK socket on any node. Nodes report
 *   per-device socket deltas; the store keeps, per project, device → open sockets over all
 *   nodes (distinct devices = its size) and, per node, what that node contributed, so a node
 *   that stops beating (killed) has its contribution removed by the next `sweep` anywhere.
 *   Deltas count only from a live node: one that missed its beats re-sends its whole state.
 * - active: distinct devices that sent an event within a window (HTTP-only SDKs included).
 * Implementations: `visitors.memory.ts` (one process), `visitors.redis.ts`; both pass
 * `visitors.contract.ts`.
 */

/** `[projectId, deviceId, delta]`: this node holds `delta` more (or fewer) sockets of the device. */
export type VisitorChange = [projectId: string, deviceId: string, delta: number];

export interface Visitors {
  /**
   * True when the store lives in this process (`seen` is a Map update): a reporter gains
   * nothing by coalescing its writes, and a table remembering what it wrote would only double
   * the memory the store already holds per device.
   */
  readonly inProcess?: boolean;
  /**
   * Applies socket deltas for `nodeId` and keeps the node alive (as `beat`). Returns false and
   * writes nothing when the node is not live (new, or its beat expired and it was or will be
   * swept): applied to a swept node, the deltas would bring it back with only these devices and
   * leave the ones it already had uncounted. The caller then `reset`s its whole state, which
   * holds these deltas.
   */
  change(nodeId: string, changes: VisitorChange[]): Promise<boolean>;
  /**
   * Keeps `nodeId`'s contribution counting for the TTL. Returns false when the node was not
   * live (swept after missing beats, expired, or new): the caller then `reset`s its state.
   */
  beat(nodeId: string): Promise<boolean>;
  /**
   * Replaces everything `nodeId` contributes with `state` (device socket counts per project)
   * and makes the node live. Throws when the node expired before all of `state` was written
   * (a very large state written in parts): the caller sends it again.
   */
  reset(nodeId: string, state: VisitorChange[]): Promise<void>;
  /** Removes the contributions of nodes whose beat expired; returns the projects whose counts changed. */
  sweep(): Promise<string[]>;
  /** Distinct devices with an open socket on a live node. */
  online(projectId: string): Promise<number>;
  /** Records that these devices sent events at `at` (epoch ms); entries older than `keepMs` are dropped. */
  seen(projectId: string, deviceIds: string[], at: number): Promise<void>;
  /** Distinct devices seen since `since` (epoch ms); older entries past `keepMs` are dropped. */
  active(projectId: string, since: number): Promise<number>;
  /** Releases what the store opened (not a client it was given). */
  close(): Promise<void>;
}

export interface VisitorsOptions {
  /** How long a node's contribution counts without a beat (default 10 s). */
  ttlMs?: number;
  /** How long "seen" entries are kept (default 10 minutes; the active window must be shorter). */
  keepMs?: number;
}

export const DEFAULT_VISITORS_TTL_MS = 10_000;
export const DEFAULT_VISITORS_KEEP_MS = 600_000;
