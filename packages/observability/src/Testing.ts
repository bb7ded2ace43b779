import { Effect } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url))

/** Runs a program's TypeScript `main` with only `env` (and `PATH`) until it exits; for start-up tests. */
export const runMain = (main: string, env: Record<string, string>) =>
  Effect.async<{ code: number | null; stderr: string; stdout: string }>((resume) => {
    const child = spawn(tsx, ["--conditions=@findry/source", main], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    let stdout = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.on("exit", (code) => resume(Effect.succeed({ code, stderr, stdout })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
