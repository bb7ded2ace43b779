// The harness lives in packages/experiment-sync/bench, where `effect` resolves; the repository root has no dependencies.
// Work size and latency: BENCH_SYNC_WORKSPACES (2000), BENCH_SYNC_EXPERIMENTS (linked tests per workspace, 20),
// BENCH_LATENCY_MS (50). Optional: BENCH_SYNC_ENGINE=memory|cluster, BENCH_SYNC_WAVE=<workspaces per wave>,
// BENCH_SYNC_POOL=<connections>, BENCH_HEAP_SNAPSHOT_DIR=<dir> (a heap snapshot right after the night). Database: TEST_DATABASE_URL, else PGlite.
import { runSyncBenchmark } from "../packages/experiment-sync/bench/SyncBenchmark.js"
import { numberFromEnv } from "./support/env.js"

const engine = process.env["BENCH_SYNC_ENGINE"] === "memory" ? "memory" : "cluster"
const waveSize = numberFromEnv("BENCH_SYNC_WAVE", "waveSize")
const poolSize = numberFromEnv("BENCH_SYNC_POOL", "poolSize")

const result = await runSyncBenchmark((line) => console.log(line), {
  engine,
  ...numberFromEnv("BENCH_SYNC_WORKSPACES", "workspaces"),
  ...numberFromEnv("BENCH_SYNC_EXPERIMENTS", "experiments"),
  ...numberFromEnv("BENCH_LATENCY_MS", "latencyMs"),
  ...poolSize,
  ...(process.env["BENCH_HEAP_SNAPSHOT_DIR"] ? { heapSnapshotDir: process.env["BENCH_HEAP_SNAPSHOT_DIR"] } : {}),
  ...(waveSize.waveSize === undefined ? {} : { settings: waveSize })
})
if (result.synced === 0) process.exitCode = 1
