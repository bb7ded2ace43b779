// The harness lives in packages/outcomes/bench, where the workspace packages resolve; the root has no dependencies.
import { runSweepBenchmark } from "../packages/outcomes/bench/SweepBenchmark.js"

const arg = (name: string) => {
  const index = process.argv.indexOf(`--${name}`)
  return index < 0 ? undefined : Number(process.argv[index + 1])
}
const overrides = Object.fromEntries(
  (["bets", "workspaces", "projects", "latencyMs"] as const).flatMap((name) => {
    const value = arg(name === "latencyMs" ? "latency" : name)
    return value === undefined || Number.isNaN(value) ? [] : [[name, value]]
  })
)

const betConcurrency = arg("bet-concurrency")
const result = await runSweepBenchmark(
  (line) => console.log(line),
  betConcurrency === undefined ? overrides : { ...overrides, sweep: { betConcurrency } }
)
if (!result.ok) process.exitCode = 1
