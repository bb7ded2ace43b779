const SHOWN = 4
const MIN_LENGTH_TO_SHOW = 16
const ELLIPSIS = "…"

/**
 * Display form of a secret: its first 4 characters followed by "…". Values shorter than 16 characters
 * show only "…", so at most a quarter of a value is ever revealed. Characters are Unicode code points, so
 * a surrogate pair is never split.
 */
export const redactedPrefix = (value: string): string => {
  let prefix = ""
  let count = 0
  for (const char of value) {
    if (count < SHOWN) prefix += char
    count++
    if (count >= MIN_LENGTH_TO_SHOW) return prefix + ELLIPSIS
  }
  return ELLIPSIS
}
