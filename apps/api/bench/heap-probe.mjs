// Loaded into a runner process by the benchmarks (NODE_OPTIONS=--import): samples the heap and writes to
// BENCH_HEAP_FILE every second and when the process exits: the peak and latest heap in use, RSS, and the heap left
// after a full collection (run once a second only when BENCH_LIVE_HEAP=1, as it costs CPU).
/* global setInterval */
import { writeFileSync } from "node:fs"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

const file = process.env.BENCH_HEAP_FILE
const live = process.env.BENCH_LIVE_HEAP === "1"
let gc
if (live) {
  setFlagsFromString("--expose-gc")
  gc = runInNewContext("gc")
}
let peakHeap = 0
let liveHeap = 0
const sample = () => {
  const heap = process.memoryUsage().heapUsed
  peakHeap = Math.max(peakHeap, heap)
  return heap
}
const write = () => {
  if (gc) {
    gc()
    liveHeap = process.memoryUsage().heapUsed
  }
  if (file) writeFileSync(file, JSON.stringify({ peakHeap, heap: sample(), liveHeap, rss: process.memoryUsage().rss }))
}
setInterval(sample, 50).unref()
setInterval(write, 1000).unref()
process.on("exit", write)
