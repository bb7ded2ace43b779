import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"

/** What one process used while a benchmark measured it. Bytes and milliseconds. */
export interface ProcessUsage {
  readonly wallMs: number
  readonly cpuMs: number
  readonly startHeap: number
  readonly peakHeap: number
  readonly endHeap: number
  readonly startRss: number
  readonly peakRss: number
}

/**
 * Measures this process from now until `stop()`: wall time, CPU time (user + system) and heap and RSS sampled
 * every `sampleMs`. Benchmarks run the emulator in a process of its own so that this is the product's share.
 */
export const meterThisProcess = (sampleMs = 50) => {
  const cpuBefore = process.cpuUsage()
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
  const timer = setInterval(sample, sampleMs)
  return {
    stop: (): ProcessUsage => {
      clearInterval(timer)
      const last = sample()
      const cpu = process.cpuUsage(cpuBefore)
      return {
        wallMs: performance.now() - started,
        cpuMs: (cpu.user + cpu.system) / 1000,
        startHeap: first.heapUsed,
        peakHeap,
        endHeap: last.heapUsed,
        startRss: first.rss,
        peakRss
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
