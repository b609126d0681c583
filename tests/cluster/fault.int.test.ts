/**
 * Faults at random moments during a stream, in the distributed shape on real processes: an
 * ingest node SIGKILLed, the worker SIGKILLed, Redis crashed and restarted — each followed by
 * the check that the events stored are exactly the events acknowledged (count and distinct
 * ids). A few rounds here (one of each fault); `npm run fault -- --rounds 50` runs many
 * (tests/cluster/fault-run.ts). Harness: tests/cluster/fault.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS, type FaultRig, startFaultRig } from './fault.ts';

let rig: FaultRig;
const seed = Number(process.env.FAULT_SEED) || Date.now();

beforeAll(async () => {
  rig = await startFaultRig({ seed });
}, 180_000);

afterAll(async () => {
  await rig?.close();
});

describe(`faults during a stream (seed ${seed})`, () => {
  FAULTS.forEach((fault, round) => {
    it(`${fault}: stored == acknowledged, every id once`, async () => {
      const r = await rig.runRound(round, fault, (line) => console.info(`[fault] ${line}`));
      expect(r.acked).toBeGreaterThan(0);
      expect(r.stored).toBe(r.acked);
      expect(r.distinct).toBe(r.acked);
    }, 400_000);
  });
});
