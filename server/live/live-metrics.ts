/**
 * Prometheus metrics of the live channel, registered on the process registry the entry point
 * made (`metrics.registry`), so they show up at `GET /metrics` beside the rest.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type LiveMetrics = ReturnType<typeof createLiveMetrics>;

/** Registers the live channel's metrics on `registry` (once per registry). */
export function createLiveMetrics(registry: Registry) {
  const r = [registry];
  return {
    dashboards: new Gauge({ name: 'livepanel_live_dashboards', help: 'Dashboard sockets connected to this node', registers: r }),
    refused: new Counter({
      name: 'livepanel_live_refused_total',
      help: 'Dashboard handshakes refused, by error code',
      labelNames: ['code'] as const,
      registers: r,
    }),
    ticks: new Counter({ name: 'livepanel_live_ticks_total', help: 'Ticks this node emitted to project rooms', registers: r }),
    eventToTick: new Histogram({
      name: 'livepanel_live_event_to_tick_seconds',
      help: 'From the receipt of an event batch to the tick that carries it to dashboards (per batch)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
      registers: r,
    }),
    presencePushes: new Counter({ name: 'livepanel_live_presence_pushes_total', help: 'Presence totals pushed to local dashboards', registers: r }),
  };
}
