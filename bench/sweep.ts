// The harness lives in packages/outcomes/bench, where the workspace packages resolve; the root has no dependencies.
// Work size and latency: BENCH_SWEEP_BETS (500), BENCH_SWEEP_WORKSPACES (50), BENCH_SWEEP_PROJECTS (10),
// BENCH_LATENCY_MS (50), BENCH_SWEEP_BET_CONCURRENCY (the sweep's default). Database: TEST_DATABASE_URL, else PGlite.
import { runSweepBenchmark } from "../packages/outcomes/bench/SweepBenchmark.js"
import { numberFromEnv } from "./support/env.js"

const overrides = {
  ...numberFromEnv("BENCH_SWEEP_BETS", "bets"),
  ...numberFromEnv("BENCH_SWEEP_WORKSPACES", "workspaces"),
  ...numberFromEnv("BENCH_SWEEP_PROJECTS", "projects"),
  ...numberFromEnv("BENCH_LATENCY_MS", "latencyMs")
}
const betConcurrency = numberFromEnv("BENCH_SWEEP_BET_CONCURRENCY", "betConcurrency")
const result = await runSweepBenchmark(
  (line) => console.log(line),
  { ...overrides, ...(betConcurrency.betConcurrency === undefined ? {} : { sweep: betConcurrency }) }
)
if (!result.ok) process.exitCode = 1
