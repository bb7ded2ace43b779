// The harness lives in packages/experiment-sync/bench, where `effect` resolves; the repository root has no dependencies.
import { runSyncBenchmark } from "../packages/experiment-sync/bench/SyncBenchmark.js"

const result = await runSyncBenchmark((line) => console.log(line))
if (result.synced === 0) process.exitCode = 1
