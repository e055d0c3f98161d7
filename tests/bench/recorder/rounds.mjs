// Three separate runs of the recorder benchmark (run.mjs, each its own process and
// Chromium), then their ratios side by side, to show whether a goal is met robustly
// ("the same ratio in three separate runs", issue 14).
//
//   bash scripts/build.sh && RUNS=5 node tests/bench/recorder/rounds.mjs     # ROUNDS=3; PAGES, TRACE… as run.mjs
//
// Each round's full tables are printed as it ends; the summary follows.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Math.max(1, Number(process.env.ROUNDS || 3));
const dir = mkdtempSync(join(tmpdir(), "sightline-bench-rounds-"));
const summaries = [];
try {
  for (let i = 1; i <= ROUNDS; i++) {
    console.log(`### Round ${i} of ${ROUNDS}\n`);
    const file = join(dir, `round-${i}.json`);
    const r = spawnSync(process.execPath, [join(here, "run.mjs")], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, BENCH_SUMMARY: file },
    });
    if (r.status !== 0) {
      console.error(`round ${i}: run.mjs exited with ${r.status ?? r.signal}`);
      process.exit(1);
    }
    summaries.push(JSON.parse(readFileSync(file, "utf8")));
    console.log();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fx = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "–");
console.log(`### ${ROUNDS} separate runs (RUNS=${summaries[0].runs} each): ratios to rrweb and sightline's longest task\n`);
console.log("| page | step | main thread (TaskDuration) ratio | script ratio | recorder's tasks (trace) ratio | " +
  "sightline's longest task | rrweb's longest task | ≤ 0.50× in every run | < 50 ms in every run |");
console.log("|---|---|---:|---:|---:|---:|---:|---|---|");
for (const [name, page] of Object.entries(summaries[0].pages)) {
  for (const step of ["snapshot", "burst"]) {
    const s = summaries.map((x) => x.pages[name]?.[step]).filter(Boolean);
    const ratioMet = s.every((x) => x.taskRatio <= 0.5);
    const longMet = s.every((x) => x.longest[0] < 50);
    console.log(`| ${page.label} | ${step === "snapshot" ? "(a) first snapshot" : "(b) burst"} | ` +
      `${s.map((x) => fx(x.taskRatio)).join(" / ")} | ${s.map((x) => fx(x.scriptRatio)).join(" / ")} | ` +
      `${s.map((x) => fx(x.tracedRatio)).join(" / ")} | ${s.map((x) => x.longest[0].toFixed(0)).join(" / ")} ms | ` +
      `${s.map((x) => x.longest[1].toFixed(0)).join(" / ")} ms | ${ratioMet ? "yes" : "no"} | ${longMet ? "yes" : "no"} |`);
  }
}
