import { Config, Effect, type Scope } from "effect"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import type { EmulatorUrls, ProjectUsage, RequestFilter } from "./Core.js"
import type { Fault, FaultSpec } from "./Faults.js"
import { makeProject, type Project, type ProjectSpec } from "./Project.js"
import type { RecordedRequest } from "./RequestLog.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const bin = fileURLToPath(new URL("./bin.ts", import.meta.url))

/**
 * The emulator running in a node process of its own (`bin.ts`), driven through its control API. Benchmarks use
 * it so that the CPU time and memory they measure in their own process are the product's, not the emulator's.
 */
export interface EmulatorProcess {
  readonly pid: number
  readonly urls: EmulatorUrls
  /** Adds a project; `spec.id` is required. Keys and seeded data are computed here as the emulator computes them. */
  readonly createProject: (spec: ProjectSpec & { readonly id: string }) => Effect.Effect<Project>
  readonly injectFault: (spec: FaultSpec) => Effect.Effect<Fault>
  readonly requests: (filter?: RequestFilter) => Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly usage: (ref: string) => Effect.Effect<ProjectUsage>
  readonly resetInspection: Effect.Effect<void>
}

export interface EmulatorProcessOptions {
  /** Last day of every project's seeded data, `YYYY-MM-DD`. Default `2026-11-30` (the in-process default). */
  readonly endDate?: string
}

const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Starts the emulator process; it is stopped when the scope closes. Dies when it does not start within 60 s. */
export const startEmulatorProcess = (
  options: EmulatorProcessOptions = {}
): Effect.Effect<EmulatorProcess, never, Scope.Scope> =>
  Effect.gen(function*() {
    const endDate = options.endDate ?? "2026-11-30"
    // The child gets no other variable of ours: only where to find its executables.
    const path = yield* Config.string("PATH").pipe(Config.withDefault(""), Effect.orDie)
    const [us, eu, experimentUs, experimentEu] = yield* Effect.all([freePort, freePort, freePort, freePort])
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [
          "--conditions=@findry/source",
          "--import",
          "tsx",
          bin,
          `--us-port=${us}`,
          `--eu-port=${eu}`,
          `--experiment-us-port=${experimentUs}`,
          `--experiment-eu-port=${experimentEu}`,
          `--end-date=${endDate}`
        ], { cwd: root, env: path === "" ? {} : { PATH: path }, stdio: ["ignore", "pipe", "pipe"] })
      ),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        })
    )
    let output = ""
    child.stderr.on("data", (chunk) => (output += chunk))
    yield* Effect.async<void, string>((resume) => {
      const onData = (chunk: Buffer) => {
        output += chunk
        if (output.includes("Amplitude emulator running")) {
          child.stdout.off("data", onData)
          child.stdout.resume()
          resume(Effect.void)
        }
      }
      child.stdout.on("data", onData)
      child.once("exit", (code) => resume(Effect.fail(`the emulator process exited (${code}): ${output}`)))
    }).pipe(
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => `no emulator after 60 s: ${output}` }),
      Effect.orDie
    )

    const urls: EmulatorUrls = {
      us: `http://127.0.0.1:${us}`,
      eu: `http://127.0.0.1:${eu}`,
      experimentUs: `http://127.0.0.1:${experimentUs}`,
      experimentEu: `http://127.0.0.1:${experimentEu}`
    }
    const control = <A>(method: string, path: string, body?: unknown) =>
      Effect.promise(async () => {
        const response = await fetch(`${urls.us}/__emulator${path}`, {
          method,
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
        })
        const text = await response.text()
        if (!response.ok) throw new Error(`${method} /__emulator${path}: ${response.status} ${text}`)
        return JSON.parse(text) as A
      })
    const query = (filter: RequestFilter) =>
      new URLSearchParams(Object.entries(filter).filter(([, value]) => value !== undefined)).toString()

    return {
      pid: child.pid!,
      urls,
      createProject: (spec) =>
        control("POST", "/projects", spec).pipe(Effect.as(makeProject(spec, spec.id, { endDate }))),
      injectFault: (spec) => control<Fault>("POST", "/faults", spec),
      requests: (filter = {}) =>
        control<{ requests: ReadonlyArray<RecordedRequest> }>("GET", `/requests?${query(filter)}`).pipe(
          Effect.map((answer) => answer.requests)
        ),
      usage: (ref) => control<ProjectUsage>("GET", `/projects/${encodeURIComponent(ref)}/usage`),
      resetInspection: Effect.asVoid(control("POST", "/reset"))
    } satisfies EmulatorProcess
  })
