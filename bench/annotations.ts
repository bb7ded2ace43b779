// The harness lives in apps/api/bench, where the workspace packages resolve; the root has no dependencies.
// Work size and latency: BENCH_ANNOTATIONS_DECISIONS (1000), BENCH_ANNOTATIONS_PROJECTS (4), BENCH_LATENCY_MS (25).
import { runAnnotationsBenchmark } from "../apps/api/bench/AnnotationsBenchmark.js"
import { numberFromEnv } from "./support/env.js"

const ok = await runAnnotationsBenchmark((line) => console.log(line), {
  ...numberFromEnv("BENCH_ANNOTATIONS_DECISIONS", "decisions"),
  ...numberFromEnv("BENCH_ANNOTATIONS_PROJECTS", "projects"),
  ...numberFromEnv("BENCH_LATENCY_MS", "latencyMs")
})
if (!ok) process.exitCode = 1
