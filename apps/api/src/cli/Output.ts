import { Console, Effect } from "effect"

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g

const plain = (args: ReadonlyArray<unknown>) =>
  args.map((arg) => typeof arg === "string" ? arg.replace(ANSI_ESCAPE, "") : arg)

/**
 * `console` without colour escapes on the streams that are not a terminal (@effect/cli colours its help and
 * errors unconditionally), so that piped output and logs stay plain text.
 */
export const plainWhenPiped = (console: Console.Console): Console.Console => ({
  ...console,
  log: (...args) => process.stdout.isTTY === true ? console.log(...args) : console.log(...plain(args)),
  error: (...args) => process.stderr.isTTY === true ? console.error(...args) : console.error(...plain(args))
})

/** Prints `value` as one line of JSON on stdout (dates as ISO strings). */
export const printJson = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value))

/** `3725` → `1h 2m 5s`; `null` → `-`. */
export const formatSeconds = (seconds: number | null): string => {
  if (seconds === null) return "-"
  const whole = Math.max(0, Math.round(seconds))
  const parts = [[Math.floor(whole / 86_400), "d"], [Math.floor(whole / 3600) % 24, "h"], [
    Math.floor(whole / 60) % 60,
    "m"
  ], [whole % 60, "s"]] as const
  const shown = parts.filter(([amount]) => amount > 0).map(([amount, unit]) => `${amount}${unit}`)
  return shown.length === 0 ? "0s" : shown.join(" ")
}

/** Left-aligned columns separated by two spaces, the first row being the header. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows.reduce<Array<number>>(
    (acc, row) => row.map((cell, index) => Math.max(acc[index] ?? 0, cell.length)),
    []
  )
  return rows.map((row) => row.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join("  ").trimEnd()).join(
    "\n"
  )
}

export interface SyncProgress {
  /** Workspaces of the night whose sync finished (any outcome). */
  readonly done: number
  /** Workspaces the night syncs. */
  readonly total: number
  /** Finished ones that failed. */
  readonly failed: number
}

const progressText = (progress: SyncProgress) =>
  `${progress.done}/${progress.total} workspaces synced` + (progress.failed > 0 ? `, ${progress.failed} failed` : "")

/** The progress bar shown on a terminal: `[#########-----------] 3/7 workspaces synced, 1 failed`. */
export const renderProgressBar = (progress: SyncProgress, width = 30): string => {
  const ratio = progress.total === 0 ? 1 : Math.min(1, progress.done / progress.total)
  const filled = Math.round(ratio * width)
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${progressText(progress)}`
}

/** The progress line printed when the output is not a terminal (one per change). */
export const renderProgressLine = (progress: SyncProgress): string => progressText(progress)

/** Where progress goes: stderr, so that stdout carries only the result (text or `--json`). */
export interface ProgressSink {
  readonly isTTY: boolean
  readonly write: (text: string) => void
}

export const stderrSink: ProgressSink = {
  isTTY: process.stderr.isTTY === true,
  write: (text) => process.stderr.write(text)
}

/**
 * Shows sync progress: a bar redrawn in place on a terminal, otherwise a plain line each time the numbers change.
 * `finish` ends the bar's line.
 */
export const progressReporter = (sink: ProgressSink) => {
  let last: string | undefined
  return {
    update: (progress: SyncProgress) =>
      Effect.sync(() => {
        const key = `${progress.done}/${progress.total}/${progress.failed}`
        if (key === last) return
        last = key
        if (sink.isTTY) sink.write(`\r\u001b[2K${renderProgressBar(progress)}`)
        else sink.write(`${renderProgressLine(progress)}\n`)
      }),
    finish: Effect.sync(() => {
      if (sink.isTTY && last !== undefined) sink.write("\n")
    })
  }
}
