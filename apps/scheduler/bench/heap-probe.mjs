// Loaded into each runner process of `pnpm bench:annotations` (NODE_OPTIONS=--import): samples the heap and
// writes the peak and the latest value to BENCH_HEAP_FILE every second and when the process exits.
/* global setInterval */
import { writeFileSync } from "node:fs"

const file = process.env.BENCH_HEAP_FILE
let peakHeap = 0
const sample = () => {
  const heap = process.memoryUsage().heapUsed
  peakHeap = Math.max(peakHeap, heap)
  return heap
}
const write = () => file && writeFileSync(file, JSON.stringify({ peakHeap, heap: sample() }))
setInterval(sample, 50).unref()
setInterval(write, 1000).unref()
process.on("exit", write)
