// The harness lives in packages/annotations/bench, where the workspace packages resolve; the root has no dependencies.
// Work size: BENCH_ENGINE_WORKFLOWS (1000), BENCH_ENGINE_CONCURRENCY (100). Database: TEST_DATABASE_URL, else PGlite.
import { runEngineBenchmark } from "../packages/annotations/bench/EngineBenchmark.js"
import { numberFromEnv } from "./support/env.js"

await runEngineBenchmark((line) => console.log(line), {
  ...numberFromEnv("BENCH_ENGINE_WORKFLOWS", "workflows"),
  ...numberFromEnv("BENCH_ENGINE_CONCURRENCY", "concurrency")
})
process.exit(0)
