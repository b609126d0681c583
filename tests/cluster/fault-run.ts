/**
 * `npm run fault -- --rounds 50 [--seed N] [--echo]`: many rounds of tests/cluster/fault.ts,
 * faults in turn (ingest node SIGKILL, worker SIGKILL, Redis restart) at random moments.
 * Prints one JSON line per round and a summary; exits non-zero at the first round where
 * stored != acknowledged or an id was stored twice.
 */
import { parseArgs } from 'node:util';
import { FAULTS, startFaultRig } from './fault.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, seed: { type: 'string' }, echo: { type: 'boolean' } } });
const rounds = Number(values.rounds);
const seed = values.seed ? Number(values.seed) : Date.now();
console.log(`fault run: ${rounds} rounds, seed ${seed}`);
const rig = await startFaultRig({ seed, echo: values.echo });
let failed = false;
const settle: number[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    const fault = FAULTS[round % FAULTS.length]!;
    const r = await rig.runRound(round, fault, (line) => console.log(`  ${line}`));
    settle.push(r.settleMs);
    if (r.stored !== r.acked || r.distinct !== r.stored) {
      console.error(`round ${round} (${fault}): stored ${r.stored}, distinct ${r.distinct}, acknowledged ${r.acked}`);
      failed = true;
      break;
    }
  }
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  await rig.close();
}
settle.sort((a, b) => a - b);
console.log(
  `${failed ? 'FAILED' : 'ok'}: ${settle.length} rounds, stored == acknowledged in each; time from the end of a stream to all stored: median ${settle[Math.floor(settle.length / 2)] ?? 0} ms, max ${settle.at(-1) ?? 0} ms`,
);
process.exit(failed ? 1 : 0);
