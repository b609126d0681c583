/**
 * Presence on the socket.io server (README "Live channel", docs/realtime.md "Presence"): this
 * node's open SDK sockets per project go to the Presence engine (heartbeat) and, per device, to
 * the Visitors engine; each node reads the cross-node totals and pushes them to its own
 * dashboards of the project when they change (and to a dashboard as it joins).
 */

import { LIVE_INTER_SERVER_EVENTS, type LivePresence, livePresenceRoom, liveRoom } from '../../shared/live.ts';
import type { EventRow } from '../../shared/rows.ts';
import type { Presence } from '../engines/presence.ts';
import type { Visitors } from '../engines/visitors.ts';
import type { Logger } from '../log.ts';
import type { LiveServer, LiveSocket } from './live.socket.ts';
import type { LiveMetrics } from './live-metrics.ts';
import { createPresenceReporter } from './presence-report.ts';
import { createVisitorsReporter } from './visitors-report.ts';

/** "Active" visitors: devices with an event within this window. */
const ACTIVE_WINDOW_MS = 5 * 60_000;

export interface LivePresenceOptions {
  io: LiveServer;
  presence: Presence;
  visitors?: Visitors;
  nodeId: string;
  heartbeatMs?: number;
  log: Logger;
  metrics?: LiveMetrics;
  /** Whether the cluster adapter's Redis is reachable now (other nodes are told of changes then). */
  clusterUp: () => boolean;
}

export interface LivePresencePush {
  /** Sends the project's known total to a socket joining its room (or reads it for the room). */
  joined(socket: LiveSocket, projectId: string): void;
  /** Accepted events of a project (they make devices active). */
  events(projectId: string, events: readonly EventRow[]): void;
  /** This node now holds `count` open SDK sockets for `projectId`. */
  socketsChanged(projectId: string, count: number): void;
  /** This node holds `delta` more (or fewer) open SDK sockets of `deviceId`. */
  deviceSockets(projectId: string, deviceId: string, delta: number): void;
  /** Reports 0 for this node and stops. */
  close(): Promise<void>;
}

export function createLivePresence(opts: LivePresenceOptions): LivePresencePush {
  const { io, log, metrics } = opts;
  let closed = false;
  const lastOnline = new Map<string, { key: string; pushed: LivePresence }>();
  // One read per project at a time (a Redis outage must not pile them up); a refresh asked for
  // meanwhile runs once the read ends, so a change during a read is never missed.
  const reading = new Set<string>();
  const again = new Set<string>();
  // Dashboards, and share links without a fixed filter, get presence (live.socket.ts `join`).
  const rooms = (p: string) => [liveRoom(p), livePresenceRoom(p)];
  const watched = (p: string) => rooms(p).some((r) => (io.of('/').adapter.rooms.get(r)?.size ?? 0) > 0);
  io.of('/').adapter.on('delete-room', (room: string) => {
    const p = room.startsWith('project:') ? room.slice('project:'.length) : room.startsWith('presence:') ? room.slice('presence:'.length) : undefined;
    if (p !== undefined && !watched(p)) lastOnline.delete(p);
  });

  function refresh(projectIds: Iterable<string>) {
    for (const p of projectIds) {
      if (closed || !watched(p)) continue;
      if (reading.has(p)) again.add(p);
      else void readPresence(p);
    }
  }

  async function readPresence(p: string) {
    reading.add(p);
    try {
      const now = Date.now();
      const [sockets, online, active] = await Promise.all([
        opts.presence.count(p),
        opts.visitors ? opts.visitors.online(p) : undefined,
        opts.visitors ? opts.visitors.active(p, now - ACTIVE_WINDOW_MS) : undefined,
      ]);
      const pushed = { projectId: p, online: online ?? sockets, sockets, ...(active !== undefined ? { active } : {}), at: now };
      const key = `${pushed.online}/${sockets}/${active}`;
      if (closed || !watched(p) || lastOnline.get(p)?.key === key) return;
      lastOnline.set(p, { key, pushed });
      io.local.to(rooms(p)).emit('presence', pushed);
      metrics?.presencePushes.inc();
    } catch (err) {
      log.warn({ err, projectId: p }, 'presence read failed');
    } finally {
      reading.delete(p);
      if (again.delete(p)) refresh([p]);
    }
  }

  const visitorsReporter = opts.visitors && createVisitorsReporter({ visitors: opts.visitors, nodeId: opts.nodeId, log, onChanged: (ids) => refresh(ids) });

  const reporter = createPresenceReporter({
    presence: opts.presence,
    nodeId: opts.nodeId,
    heartbeatMs: opts.heartbeatMs,
    log,
    onReported(ids) {
      refresh(ids);
      // Other nodes re-read these totals for their dashboards now rather than at their next heartbeat.
      if (opts.clusterUp()) for (let i = 0; i < ids.length; i += 1000) io.serverSideEmit('presenceChanged', ids.slice(i, i + 1000));
    },
    onHeartbeat: () => refresh([...lastOnline.keys()]),
  });
  io.on('presenceChanged', (ids: unknown) => {
    const parsed = LIVE_INTER_SERVER_EVENTS.presenceChanged.safeParse(ids);
    if (parsed.success) refresh(parsed.data);
  });

  return {
    joined(socket, projectId) {
      const known = lastOnline.get(projectId);
      if (known !== undefined) socket.emit('presence', known.pushed);
      else refresh([projectId]); // first dashboard here: the read pushes to the room
    },
    events(projectId, events) {
      visitorsReporter?.events(projectId, events);
    },
    socketsChanged(projectId, count) {
      if (!closed) reporter.changed(projectId, count);
    },
    deviceSockets(projectId, deviceId, delta) {
      if (!closed) visitorsReporter?.sockets(projectId, deviceId, delta);
    },
    async close() {
      closed = true;
      await Promise.all([reporter.close(), visitorsReporter?.close()]);
    },
  };
}
