/**
 * Reads a V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` file) and says where the time
 * went: self time per function and per place (a package under node_modules, a folder of this
 * repository, Node's internals, GC, idle). `npm run bench:ingest -- --profile` prints this for
 * each shape's busiest process; the file itself opens in Chrome DevTools or speedscope as a
 * flame graph. Usage on its own: tsx bench/profile-summary.ts <file.cpuprofile> [top] [skip ms]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './support.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: `pkg:<name>`, `repo:<folder>`, `node`, or V8's own pseudo-frames. */
export function placeOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return `pkg:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const rel = path.relative(ROOT, file);
  if (!rel.startsWith('..')) return `repo:${rel.split('/').slice(0, 2).join('/')}`;
  return 'other';
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of the profile's wall time not idle (≈ CPU of the main thread). */
  busyShare: number;
  places: Array<{ place: string; ms: number; share: number }>;
  functions: Array<{ fn: string; place: string; ms: number; share: number }>;
}

/**
 * Self time by place and function, from `skipMs` after the profile started (start-up — module
 * compilation, PGlite's first initdb — is not what the benchmark asks about).
 */
export function summarizeProfile(file: string, top = 15, skipMs = 0): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  const from = p.startTime + skipMs * 1000;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < from) continue;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const totalUs = Math.max(1, p.endTime - Math.max(p.startTime, from));
  const places = new Map<string, number>();
  const fns = new Map<string, { place: string; us: number }>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const place = placeOf(url, functionName || '(anonymous)');
    places.set(place, (places.get(place) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    const f = fns.get(key) ?? { place, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const ms = (us: number) => Math.round(us / 100) / 10;
  const share = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  return {
    file,
    totalMs: ms(totalUs),
    busyShare: Math.round((busyUs / totalUs) * 100) / 100,
    places: [...places]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([place, us]) => ({ place, ms: ms(us), share: share(us) })),
    functions: [...fns]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, f]) => ({ fn, place: f.place, ms: ms(f.us), share: share(f.us) })),
  };
}

/** Prints a summary: busy share, then self time by place and by function (% of busy time). */
export function printProfile(s: ProfileSummary): void {
  console.log(`\n-- ${path.relative(ROOT, s.file)}: ${s.totalMs} ms after start-up, main thread busy ${Math.round(s.busyShare * 100)}%`);
  console.log('   by place (% of busy):', s.places.map((p) => `${p.place} ${p.share}%`).join(', '));
  for (const f of s.functions) console.log(`   ${String(f.share).padStart(5)}%  ${f.fn}  [${f.place}]`);
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  printProfile(summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 25), Number(process.argv[4] ?? 0)));
}
