// The harness lives in packages/amplitude-adapter/bench, where `effect` resolves; the repository root has no dependencies.
import { runAdapterBenchmark } from "../packages/amplitude-adapter/bench/AdapterBenchmark.js"

const result = await runAdapterBenchmark()
if (!result.ok) process.exitCode = 1
