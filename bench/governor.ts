// The harness lives in packages/runtime/bench, where the workspace packages resolve; the root has no dependencies.
import { runGovernorBenchmark } from "../packages/runtime/bench/GovernorBenchmark.js"

const ok = await runGovernorBenchmark((line) => console.log(line))
if (!ok) process.exitCode = 1
