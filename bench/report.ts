import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, type Figure } from './lib';

/**
 * What `npm run bench` leaves behind: bench/results/latest.json (the figures with their rounds and the
 * machine they ran on, read by bench/sizing.ts) and bench/results/latest.md (the same as a table, also
 * printed).
 */

function targetCell(f: Figure): string {
  if (f.targetText) return f.targetText;
  return f.target ? `≥ ${f.target}× ${f.ratio >= f.target ? '✔' : '✘'}` : '—';
}

/** `rounds`: BENCH_ROUNDS; `small`: BENCH_SCALE=small, named in the command that reproduces the run. */
export function report(figures: Figure[], rounds: number, small: boolean): void {
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const meta = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    rounds,
  };
  fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify({ ...meta, figures }, null, 2)}\n`);
  const lines = [
    `# davpush benchmark — ${meta.at}`,
    '',
    `Node ${meta.node}, ${meta.cpus} × ${meta.cpu}; median of alternating rounds (BENCH_ROUNDS=${rounds} for Web Push, cluster, FCM and proxy; ${small ? 2 : 3} for ingest and the big fan-out, 3 after a warm-up for latency). Reproduce: \`${reproduce(small)}npm run bench\`.`,
    '',
    '| figure | ours | baseline | ratio | target |',
    '|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.name} | ${f.ours} ${f.unit} | ${f.baseline} ${f.unit} (${f.baselineName}) | **${f.ratio}×** | ${targetCell(f)} |`,
    ),
    '',
  ];
  fs.writeFileSync(path.join(dir, 'latest.md'), lines.join('\n'));
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

/** The BENCH_* settings of this run, as a command prefix (a partial run names its part). */
function reproduce(small: boolean): string {
  const set = ['BENCH_ROUNDS', 'BENCH_ONLY', 'BENCH_PART'].flatMap((k) =>
    process.env[k] ? [`${k}=${process.env[k]}`] : [],
  );
  return [...(small ? ['BENCH_SCALE=small'] : []), ...set].map((x) => `${x} `).join('');
}
