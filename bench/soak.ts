// The harness lives in apps/api/bench, where the workspace packages resolve; the root has no dependencies.
// BENCH_SOAK_SECONDS (300), BENCH_SOAK_DECISIONS_PER_SECOND (5), BENCH_SOAK_SYNC_EVERY_SECONDS (30),
// BENCH_SOAK_WORKSPACES (20), BENCH_LATENCY_MS (25); PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL.
import { runSoakBenchmark } from "../apps/api/bench/SoakBenchmark.js"
import { numberFromEnv } from "./support/env.js"

const ok = await runSoakBenchmark((line) => console.log(line), {
  ...numberFromEnv("BENCH_SOAK_SECONDS", "seconds"),
  ...numberFromEnv("BENCH_SOAK_DECISIONS_PER_SECOND", "decisionsPerSecond"),
  ...numberFromEnv("BENCH_SOAK_SYNC_EVERY_SECONDS", "syncEverySeconds"),
  ...numberFromEnv("BENCH_SOAK_WORKSPACES", "workspaces"),
  ...numberFromEnv("BENCH_LATENCY_MS", "latencyMs")
})
if (!ok) process.exitCode = 1
