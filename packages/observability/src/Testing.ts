import { Effect } from "effect"
import { type ChildProcessByStdio, spawn } from "node:child_process"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../", import.meta.url))

/**
 * Starts a program's TypeScript `main` in a node process of its own, on the sources, with only `env` and the
 * command-line arguments `args`. tsx's loader runs inside that process: the `tsx` command would run the program
 * in a child of its own, which a SIGKILL of the command leaves running.
 */
export const spawnMain = (
  main: string,
  env: Record<string, string | undefined>,
  args: ReadonlyArray<string> = []
): ChildProcessByStdio<null, Readable, Readable> =>
  spawn(process.execPath, ["--conditions=@findry/source", "--import", "tsx", main, ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })

/**
 * Runs a program's TypeScript `main` with only `env` (and `args`) until it exits and its output is read to the
 * end; for start-up and CLI tests.
 */
export const runMain = (main: string, env: Record<string, string>, args: ReadonlyArray<string> = []) =>
  Effect.async<{ code: number | null; stderr: string; stdout: string }>((resume) => {
    const child = spawnMain(main, env, args)
    let stderr = ""
    let stdout = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.on("close", (code) => resume(Effect.succeed({ code, stderr, stdout })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
