import { readdirSync, readFileSync } from "node:fs"

const TICKS_PER_SECOND = 100

const readTicks = (pid: number): number => {
  try {
    // Fields after the command name, which may itself contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

const childrenOf = (pid: number): Array<number> => {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter((s) => s !== "").map(Number)
    )
  } catch {
    return []
  }
}

/**
 * CPU time (user + system, milliseconds) used so far by a process and every live descendant, read from /proc
 * (Linux). A service started through `tsx` runs in a child of the spawned process, hence the tree.
 */
export const processTreeCpuMillis = (pid: number): number => {
  let ticks = 0
  const pending = [pid]
  while (pending.length > 0) {
    const next = pending.pop()!
    ticks += readTicks(next)
    pending.push(...childrenOf(next))
  }
  return (ticks * 1000) / TICKS_PER_SECOND
}
