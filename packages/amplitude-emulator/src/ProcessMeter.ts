import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/** What one process used while a benchmark measured it. Bytes and milliseconds. */
export interface ProcessUsage {
  readonly wallMs: number
  readonly cpuMs: number
  readonly startHeap: number
  readonly peakHeap: number
  readonly endHeap: number
  readonly startRss: number
  readonly peakRss: number
  /** Heap in use right after a full collection, at its highest (0 unless `liveHeapEveryMs` was given). */
  readonly peakLiveHeap: number
  /**
   * Share of the wall time the event loop was running code (0–1): near 1, the process itself is the bottleneck,
   * whatever the CPU time says (which on a virtual machine also counts waking up from each wait).
   */
  readonly loopBusy: number
}

/** The `gc()` function node only exposes with `--expose-gc`, obtained at run time. */
const fullGc = (): () => void => {
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
}

/**
 * Measures this process from now until `stop()`: wall time, CPU time (user + system) and heap and RSS sampled
 * every `sampleMs`. Benchmarks run the emulator in a process of its own so that this is the product's share.
 * The heap sampled so includes garbage not collected yet, so it mostly shows when V8 chose to collect; with
 * `liveHeapEveryMs`, a full collection runs that often and the heap left after it (what the process really
 * holds) is tracked too; the CPU time of those collections is not counted in `cpuMs`.
 */
export const meterThisProcess = (options: { readonly sampleMs?: number; readonly liveHeapEveryMs?: number } = {}) => {
  const cpuBefore = process.cpuUsage()
  let gcCpuMs = 0
  let peakLiveHeap = 0
  const gc = options.liveHeapEveryMs === undefined ? undefined : fullGc()
  const sampleLive = () => {
    if (gc === undefined) return
    const before = process.cpuUsage()
    gc()
    const used = process.cpuUsage(before)
    gcCpuMs += (used.user + used.system) / 1000
    peakLiveHeap = Math.max(peakLiveHeap, process.memoryUsage().heapUsed)
  }
  sampleLive()
  const loopBefore = performance.eventLoopUtilization()
  const started = performance.now()
  const first = process.memoryUsage()
  let peakHeap = first.heapUsed
  let peakRss = first.rss
  const sample = () => {
    const usage = process.memoryUsage()
    peakHeap = Math.max(peakHeap, usage.heapUsed)
    peakRss = Math.max(peakRss, usage.rss)
    return usage
  }
  const timer = setInterval(sample, options.sampleMs ?? 50)
  const liveTimer = gc === undefined ? undefined : setInterval(sampleLive, options.liveHeapEveryMs)
  return {
    stop: (): ProcessUsage => {
      clearInterval(timer)
      clearInterval(liveTimer)
      const last = sample()
      const cpu = process.cpuUsage(cpuBefore)
      const loop = performance.eventLoopUtilization(loopBefore)
      sampleLive()
      return {
        wallMs: performance.now() - started,
        cpuMs: (cpu.user + cpu.system) / 1000 - gcCpuMs,
        peakLiveHeap,
        startHeap: first.heapUsed,
        peakHeap,
        endHeap: last.heapUsed,
        startRss: first.rss,
        peakRss,
        loopBusy: loop.utilization
      }
    }
  }
}

/** CPU time (user + system, ms) another process has used so far, from `/proc` (Linux); 0 elsewhere. */
export const processCpuMs = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th, in 1/100 s.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/** Peak resident memory (bytes) of another process so far, from `/proc` (Linux); 0 elsewhere. */
export const processPeakRss = (pid: number): number => {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return 0
  }
}

export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

/** The machine's 1-minute load average and core count, to print next to every figure. */
export const machineLoad = () => `load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`
