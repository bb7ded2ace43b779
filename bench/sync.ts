// The harness lives in packages/experiment-sync/bench, where `effect` resolves; the repository root has no dependencies.
// Optional: BENCH_SYNC_ENGINE=memory|cluster, BENCH_SYNC_WAVE=<workspaces per wave>, BENCH_SYNC_POOL=<connections>.
import { runSyncBenchmark } from "../packages/experiment-sync/bench/SyncBenchmark.js"

const number = (name: string) => process.env[name] === undefined ? undefined : Number(process.env[name])
const engine = process.env["BENCH_SYNC_ENGINE"] === "memory" ? "memory" : "cluster"
const waveSize = number("BENCH_SYNC_WAVE")
const poolSize = number("BENCH_SYNC_POOL")

const result = await runSyncBenchmark((line) => console.log(line), {
  engine,
  ...(poolSize === undefined ? {} : { poolSize }),
  ...(waveSize === undefined ? {} : { settings: { waveSize } })
})
if (result.synced === 0) process.exitCode = 1
