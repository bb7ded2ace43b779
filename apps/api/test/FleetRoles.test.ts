import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { makeFleetGovernor } from "@findry/amplitude-adapter"
import { projectGovernorKey } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs"
import { clientAs } from "./support/Client.js"
import { connectedWorkspace } from "./support/Decision.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { at, awaitRunners, inFleet, type RunnerProcess, serviceEnv } from "./support/Runners.js"

/** Amplitude calls driven through each process: event pickers through each API, annotation pushes by the worker. */
const CALLS = 100
/** Added to every Amplitude answer of the project, so that the processes' calls overlap. */
const LATENCY_MS = 40

/**
 * The local TCP ports of the sockets process `pid` has open (Linux `/proc`): how a PostgreSQL backend
 * (`pg_stat_activity.client_port`) is told to belong to one of the processes the test started.
 */
const localPortsOf = (pid: number): ReadonlyArray<number> => {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (socket !== null) inodes.add(socket[1]!)
    } catch {
      // closed meanwhile
    }
  }
  const ports: Array<number> = []
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/)
      if (columns.length > 9 && inodes.has(columns[9]!)) ports.push(parseInt(columns[1]!.split(":")[1]!, 16))
    }
  }
  return ports
}

/**
 * Two processes in role `api` and one in role `worker` on one PostgreSQL, all calling one Amplitude project (the
 * emulator's, 40 ms per answer). Each API answers 100 event-picker reads (one Amplitude call each: shared picker
 * answers are off), and the worker pushes the annotations of 100 decisions. The fleet-wide governor keeps the
 * project at ≤ 5 requests in flight and Amplitude never answers 429; one API process is killed with SIGKILL while
 * it holds a slot, its slots are free again within 10 s, and the other two finish all their work. PostgreSQL
 * only: the roles `api` and `worker` need a server.
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("two api processes and a worker on one project", () => {
  it.live(
    `${CALLS} Amplitude calls through each: ≤ 5 in flight at Amplitude, no 429; a killed API's slots come back`,
    () =>
      inFleet("280 seconds", (fleet) =>
        Effect.gen(function*() {
          const emulator = yield* AmplitudeEmulator
          const sql = yield* SqlClient.SqlClient
          const env = (role: "api" | "worker") =>
            serviceEnv(role, fleet.databaseUrl, emulator.urls, {
              // Every picker read calls Amplitude, and the workspace's own budget of such reads is out of the way.
              FINDRY_PICKER_ANSWER_TTL_SECONDS: "0",
              FINDRY_AMPLITUDE_CALLS_PER_WORKSPACE_PER_MINUTE: "10000"
            })
          const [api1, api2] = yield* Effect.all([
            fleet.start("api-1", env("api")),
            fleet.start("api-2", env("api")),
            fleet.start("worker", env("worker"))
          ])
          yield* awaitRunners(1, "180 seconds")
          for (const api of [api1, api2]) {
            yield* eventually(
              at(api)(call("GET", "/readyz")).pipe(
                // Refused until it listens.
                Effect.catchAllDefect((defect) => Effect.fail(String(defect))),
                Effect.filterOrFail((answer) => answer.status === 200, (answer) => answer.text)
              ),
              "120 seconds"
            )
          }

          const { admin, amplitude, decide, workspaceId } = yield* at(api2)(connectedWorkspace(`roles-${process.pid}`))
          yield* emulator.injectFault({ project: amplitude.id, kind: "latency", ms: LATENCY_MS })
          yield* emulator.resetInspection

          // Checked while the test waits: over the limit ends the test at once, rather than as slow retries later.
          const withinLimits = Effect.gen(function*() {
            const { maxInFlight } = yield* emulator.usage(amplitude.id)
            const refused = (yield* emulator.requests({ project: amplitude.id })).filter(({ status }) => status === 429)
            if (maxInFlight > 5 || refused.length > 0) {
              return yield* Effect.dieMessage(`peak ${maxInFlight} in flight, ${refused.length} answered 429`)
            }
          }).pipe(Effect.orDie)

          // Event-picker reads through an API process, 8 at a time; each must be answered from Amplitude.
          const readEvents = (api: RunnerProcess, done: Ref.Ref<number>) =>
            Effect.gen(function*() {
              const client = yield* at(api)(clientAs(admin))
              const read = client.amplitudeConnection.events({ path: { workspaceId } }).pipe(
                Effect.orDie,
                Effect.tap((answer) => assert.isTrue(answer.available, `unavailable: ${answer.reason}`)),
                Effect.zipRight(Ref.update(done, (n) => n + 1))
              )
              yield* Effect.forEach(Array.from({ length: CALLS }), () => read, { concurrency: 8, discard: true })
            })
          const done1 = yield* Ref.make(0)
          const done2 = yield* Ref.make(0)
          const reads1 = yield* Effect.fork(readEvents(api1, done1))
          const reads2 = yield* Effect.fork(readEvents(api2, done2))
          // The worker's share: the pushes of 100 decisions recorded through the surviving API.
          const decisions = yield* Effect.fork(Effect.forEach(
            Array.from({ length: CALLS }, (_, n) => n),
            (n) =>
              at(api2)(decide(`Decision ${n}`)).pipe(
                Effect.filterOrFail((answer) => answer.status === 201, (answer) => `decision ${n}: ${answer.text}`)
              ),
            { concurrency: 4, discard: true }
          ))

          // api-1's connection to the governor: the PostgreSQL backend whose client port is one of its sockets.
          const governorBackendOf = (one: RunnerProcess) =>
            Effect.suspend(() => {
              const ports = localPortsOf(one.child.pid!)
              return ports.length === 0 ? Effect.succeed([]) : sql<{ pid: number }>`
                SELECT pid FROM pg_stat_activity
                WHERE application_name = 'findry-amplitude-governor' AND client_port IN ${sql.in(ports)}`
            }).pipe(
              Effect.orDie,
              Effect.filterOrFail((rows) => rows.length === 1, () => "not connected yet"),
              Effect.map((rows) => rows[0]!.pid)
            )
          const slotsHeldBy = (backend: number) =>
            sql<{ slots: number }>`
              SELECT count(*)::int AS slots FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = ${backend}`
              .pipe(Effect.map((rows) => rows[0]?.slots ?? 0), Effect.orDie)
          const backend = yield* eventually(governorBackendOf(api1), "60 seconds")

          // Killed mid-run, while it holds at least one of the project's slots.
          const slotsAtKill = yield* eventually(
            Effect.gen(function*() {
              yield* withinLimits
              const done = yield* Ref.get(done1)
              const slots = yield* slotsHeldBy(backend)
              return done >= 30 && done < CALLS && slots > 0
                ? slots
                : yield* Effect.fail(`done ${done}, ${slots} slots`)
            }),
            "60 seconds"
          )
          yield* api1.kill("SIGKILL")
          const killedAt = Date.now()
          yield* Fiber.interrupt(reads1)
          assert.isBelow(yield* Ref.get(done1), CALLS, "the killed process was still running")

          // Its slots are freed with its connection.
          yield* eventually(
            Effect.gen(function*() {
              const alive = yield* sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${backend}`.pipe(Effect.orDie)
              const slots = yield* slotsHeldBy(backend)
              if (alive.length > 0 || slots > 0) return yield* Effect.fail(`still there, ${slots} slots`)
            }),
            "10 seconds"
          )
          const freedAfterMs = Date.now() - killedAt
          assert.isBelow(freedAfterMs, 10_000)

          // The survivors finish everything.
          yield* Fiber.join(reads2)
          assert.strictEqual(yield* Ref.get(done2), CALLS)
          yield* Fiber.join(decisions)
          const pushed = sql<{ n: number }>`
            SELECT count(*)::int AS n FROM annotation_records WHERE workspace_id = ${workspaceId} AND status = 'pushed'`
            .pipe(Effect.map((rows) => rows[0]?.n ?? 0), Effect.orDie)
          yield* eventually(
            withinLimits.pipe(
              Effect.zipRight(pushed),
              Effect.filterOrFail((n) => n === CALLS, (n) => `${n} pushed`)
            ),
            "60 seconds"
          )

          // With the survivors idle, all 5 slots can be taken at once.
          const fresh = yield* makeFleetGovernor({ url: fleet.databaseUrl })
          const started = yield* Ref.make(0)
          const release = yield* Deferred.make<void>()
          for (let n = 0; n < 5; n++) {
            yield* Effect.fork(
              fresh.throttle(projectGovernorKey("us", amplitude.apiKey), "interactive")(
                Effect.zipRight(Ref.update(started, (count) => count + 1), Deferred.await(release))
              )
            )
          }
          yield* eventually(
            Ref.get(started).pipe(Effect.filterOrFail((n) => n === 5, (n) => `${n} of 5 slots`)),
            "10 seconds"
          )
          yield* Deferred.succeed(release, undefined)

          const usage = yield* emulator.usage(amplitude.id)
          const requests = yield* emulator.requests({ project: amplitude.id })
          const reads = requests.filter((request) => request.endpoint === "events.list").length
          const pushes = requests.filter((request) => request.endpoint?.startsWith("annotations.") === true).length
          process.stderr.write(
            `fleet roles: peak ${usage.maxInFlight} in flight, ${reads} event reads, ${pushes} annotation calls, ` +
              `${slotsAtKill} slot(s) held at the kill, freed after ${freedAfterMs} ms\n`
          )
          assert.isAtMost(usage.maxInFlight, 5, "more than 5 requests in flight at Amplitude")
          assert.isAtLeast(usage.maxInFlight, 2, "the calls overlapped")
          assert.strictEqual(requests.filter((request) => request.status === 429).length, 0, "Amplitude answered 429")
          assert.isAtLeast(reads, CALLS + 30)
          assert.isAtLeast(pushes, CALLS)
        })),
    { timeout: 300_000 }
  )
})
