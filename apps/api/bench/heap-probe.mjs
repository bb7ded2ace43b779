// Loaded into a runner process by the benchmarks (NODE_OPTIONS=--import): samples the heap and writes to
// BENCH_HEAP_FILE every second and when the process exits: the peak and latest heap in use, RSS, the highest heap
// in use seen just after one of V8's own full collections (what survived it: garbage not yet collected makes the
// peak in use much higher than what is live), and the heap left after a forced full collection (run once a second
// only when BENCH_LIVE_HEAP=1, as it costs CPU).
/* global setInterval */
import { writeFileSync } from "node:fs"
import { constants, PerformanceObserver } from "node:perf_hooks"
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
let peakAfterFullGc = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      peakAfterFullGc = Math.max(peakAfterFullGc, process.memoryUsage().heapUsed)
    }
  }
}).observe({ entryTypes: ["gc"] })
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
  if (file) {
    writeFileSync(
      file,
      JSON.stringify({
        peakHeap,
        peakAfterFullGc,
        heap: sample(),
        liveHeap,
        rss: process.memoryUsage().rss
      })
    )
  }
}
setInterval(sample, 50).unref()
setInterval(write, 1000).unref()
process.on("exit", write)
