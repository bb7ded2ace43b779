// The harness lives in apps/api/bench, where the workspace packages resolve; the root has no dependencies.
import { runAnnotationsBenchmark } from "../apps/api/bench/AnnotationsBenchmark.js"

const ok = await runAnnotationsBenchmark((line) => console.log(line))
if (!ok) process.exitCode = 1
