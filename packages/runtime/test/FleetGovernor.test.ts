import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { type Governor, governorStatements, makeFleetGovernor } from "@findry/amplitude-adapter"
import { slotLockKey } from "@findry/amplitude-adapter/testing"
import { TestDatabase, TestSqlLive } from "@findry/persistence/testing"
import { Clock, Data, Deferred, Duration, Effect, Exit, Fiber, Metric, Ref, Schedule, Scope } from "effect"

class ConditionTimeout extends Data.TaggedError("ConditionTimeout")<{ readonly ms: number }> {}

/** Polls `check` until `holds`, failing after `ms`. */
const eventually = <A, E, R>(check: Effect.Effect<A, E, R>, holds: (a: A) => boolean, ms = 5_000) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: holds }),
    Effect.timeoutFail({ duration: Duration.millis(ms), onTimeout: () => new ConditionTimeout({ ms }) })
  )

/** A fleet governor of its own (its own PostgreSQL connection) on the suite's database, for the test's scope. */
const governor = Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url }))

/** Requests that hold their slot until `release`, counting how many have started and noting when. */
const holders = Effect.gen(function*() {
  const startedAt = yield* Ref.make<ReadonlyArray<number>>([])
  const release = yield* Deferred.make<void>()
  const request = Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => Ref.update(startedAt, (times) => [...times, now])),
    Effect.zipRight(Deferred.await(release))
  )
  return {
    started: Effect.map(Ref.get(startedAt), (times) => times.length),
    startedAt: Ref.get(startedAt),
    release: Deferred.succeed(release, undefined),
    request
  }
})

const hold = (fleet: Governor, project: string, priority: "interactive" | "background", request: Effect.Effect<void>) =>
  Effect.fork(fleet.throttle(project, priority)(request))

/** Advisory locks held on `project`'s slots, fleet-wide. */
const slotsTaken = (project: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ count: number }>`
      SELECT count(*)::int AS count FROM pg_locks
      WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid = ${slotLockKey(project) >>> 0}
    `).pipe(Effect.map(([row]) => row!.count))

/** The PostgreSQL session holding `project`'s slots. */
const slotHolder = (project: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ pid: number }>`
      SELECT DISTINCT pid FROM pg_locks
      WHERE locktype = 'advisory' AND objsubid = 2 AND classid = ${slotLockKey(project) >>> 0}`).pipe(
      Effect.map(([row]) => row!.pid)
    )

/** Waits until a governor session other than `holder` has asked for a slot and been refused. */
const refusedElsewhere = (holder: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    eventually(
      sql<{ count: number }>`
        SELECT count(*)::int AS count FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'findry-amplitude-governor'
          AND pid <> ${holder} AND query LIKE '%pg_try_advisory_lock%'`,
      ([row]) => row!.count === 1
    ))

// Needs a PostgreSQL server: several connections, each with its own advisory locks.
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("the fleet-wide Amplitude governor", () => {
  layer(TestSqlLive(), { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.scoped("shares 5 slots between processes, one of them kept for interactive calls", () =>
      Effect.gen(function*() {
        const a = yield* governor
        const b = yield* governor
        const project = "slots-project"
        const background = yield* holders
        const aBackground = yield* Effect.all(
          Array.from({ length: 4 }, () => hold(a, project, "background", background.request))
        )
        yield* eventually(background.started, (n) => n === 4)

        // The fifth slot is kept: a background call elsewhere waits, an interactive one runs.
        const late = yield* holders
        const bBackground = yield* hold(b, project, "background", late.request)
        const interactive = yield* holders
        const bInteractive = yield* hold(b, project, "interactive", interactive.request)
        yield* eventually(interactive.started, (n) => n === 1)
        assert.strictEqual(yield* slotsTaken(project), 5)

        // Full: nobody else gets in until a slot comes free.
        const aInteractive = yield* hold(a, project, "interactive", late.request)
        yield* Effect.sleep("300 millis")
        assert.strictEqual(yield* late.started, 0, "a sixth request started while 5 were in flight")

        // Freeing the interactive slot lets in the interactive call waiting in the other process.
        yield* interactive.release
        yield* Fiber.join(bInteractive)
        yield* eventually(late.started, (n) => n === 1)
        assert.strictEqual(yield* slotsTaken(project), 5)
        yield* background.release
        yield* Effect.all(aBackground.map(Fiber.join))
        yield* eventually(late.started, (n) => n === 2)
        yield* late.release
        yield* Fiber.join(bBackground)
        yield* Fiber.join(aInteractive)
        yield* eventually(slotsTaken(project), (n) => n === 0)
      }))

    it.scoped("hands slots on within a process at most 8 times in a row: another process still gets one", () =>
      Effect.gen(function*() {
        const a = yield* governor
        const b = yield* governor
        const project = "hand-off-project"
        let bGotIn = false
        // Twice as many of a's requests as there are slots, 20 ms each, one after the other until b got in: a
        // finished request of a always finds another of a waiting for its slot.
        const aCall = a.throttle(project, "interactive")(Effect.sleep("20 millis"))
        const aStream = yield* Effect.forkScoped(
          Effect.all(Array.from({ length: 10 }, () => Effect.repeat(aCall, { until: () => bGotIn })), {
            concurrency: "unbounded"
          })
        )
        yield* eventually(slotsTaken(project), (n) => n === 5)
        yield* b.throttle(project, "interactive")(Effect.sync(() => (bGotIn = true))).pipe(
          Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new ConditionTimeout({ ms: 3000 }) })
        )
        yield* Fiber.join(aStream)
      }))

    it.scoped("does not ask the database again for a slot it refused until one is released", () =>
      Effect.gen(function*() {
        // No rechecks by the clock during the test: only releases make a waiting request ask again.
        const a = yield* Effect.flatMap(
          TestDatabase,
          (database) => makeFleetGovernor({ url: database.url, recheckMillis: 60_000 })
        )
        const b = yield* governor
        const project = "refusal-project"
        const others = yield* holders
        const held = yield* Effect.all(Array.from({ length: 4 }, () => hold(b, project, "interactive", others.request)))
        yield* eventually(others.started, (n) => n === 4)

        // a gets the one free slot and 16 requests pass through it, 5 at a time: each finished request hands the
        // slot to the next, and the database, refused once, is not asked again for every one of them.
        const statementsBefore = (yield* Metric.value(governorStatements)).count
        yield* Effect.all(
          Array.from({ length: 16 }, () => a.throttle(project, "interactive")(Effect.sleep("5 millis"))),
          {
            concurrency: 5
          }
        )
        const statements = (yield* Metric.value(governorStatements)).count - statementsBefore
        // One take and one refusal, then per 8 hand-offs a give-back and a take again (and its refusal).
        assert.isAtMost(statements, 8, `${statements} governor statements for 16 requests through one slot`)
        yield* others.release
        yield* Effect.all(held.map(Fiber.join))
      }))

    it.scoped("shares the query budget, refusing an interactive charge with RateLimited", () =>
      Effect.gen(function*() {
        const limits = { queryBudget: 100, budgetWindow: Duration.minutes(1) }
        const a = yield* Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url, limits }))
        const b = yield* Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url, limits }))
        const project = "budget-project"
        const refund = yield* a.charge(project, 60, false)
        assert.strictEqual(yield* b.costUsed(project), 60)
        const refused = yield* Effect.flip(Effect.asVoid(b.charge(project, 50, false)))
        assert.strictEqual(refused._tag, "RateLimited")
        assert.isAtLeast(refused.retryAfterSeconds, 1)
        assert.isAtMost(refused.retryAfterSeconds, 62)
        const tooMuch = yield* Effect.flip(Effect.asVoid(b.charge(project, 101, false)))
        assert.match(tooMuch.message, /more than Amplitude's hourly budget/)

        // A refund (Amplitude answered 429) makes room for the other process.
        yield* refund
        yield* Effect.asVoid(b.charge(project, 50, false))
        assert.strictEqual(yield* a.costUsed(project), 50)
      }))

    it.scoped("charges a 200th of the budget ahead and spends it without a statement, never past the budget", () =>
      Effect.gen(function*() {
        // An hour's window: minute buckets. A lease lasts until the end of the bucket it was charged in, so the test
        // starts at least 5 s before the next minute of the database's clock.
        const limits = { queryBudget: 20_000, budgetWindow: Duration.hours(1) }
        const sql = yield* SqlClient.SqlClient
        const [clock] = yield* sql<{ ms: number }>`
          SELECT (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint % 60000)::int AS ms`
        if (clock!.ms > 55_000) yield* Effect.sleep(Duration.millis(60_000 - clock!.ms + 50))
        const a = yield* Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url, limits }))
        const b = yield* Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url, limits }))
        const project = "lease-project"
        // The first charge takes its cost and a lease of 100; the next 100 charges of 1 spend the lease.
        yield* Effect.asVoid(a.charge(project, 1, false))
        assert.strictEqual(yield* b.costUsed(project), 101)
        yield* Effect.repeatN(Effect.asVoid(a.charge(project, 1, false)), 98)
        assert.strictEqual(yield* b.costUsed(project), 101)
        // A refund of a charge paid from the lease goes back to the lease.
        const refund = yield* a.charge(project, 1, false)
        yield* refund
        yield* Effect.asVoid(a.charge(project, 1, false))
        assert.strictEqual(yield* b.costUsed(project), 101)
        yield* Effect.asVoid(a.charge(project, 1, false))
        assert.strictEqual(yield* b.costUsed(project), 202)

        // Near the end of the budget a charge takes no lease, and the budget holds across both processes.
        yield* Effect.asVoid(b.charge(project, 19_700, false))
        assert.strictEqual(yield* a.costUsed(project), 19_902)
        // a spends the rest of its lease (100).
        yield* Effect.repeatN(Effect.asVoid(a.charge(project, 1, false)), 99)
        assert.strictEqual(yield* b.costUsed(project), 19_902)
        yield* Effect.asVoid(a.charge(project, 98, false))
        assert.strictEqual(yield* b.costUsed(project), 20_000)
        const refused = yield* Effect.flip(Effect.asVoid(a.charge(project, 1, false)))
        assert.strictEqual(refused._tag, "RateLimited")
      }))

    it.scoped("paces Experiment requests of all processes together", () =>
      Effect.gen(function*() {
        const limits = { experimentRequestsPerSecond: 50 }
        const a = yield* Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url, limits }))
        const b = yield* Effect.flatMap(TestDatabase, (database) => makeFleetGovernor({ url: database.url, limits }))
        const project = "experiment-project"
        const sent: Array<number> = []
        const paced = (governor: Governor) =>
          Effect.zipRight(governor.pace(project), Effect.sync(() => sent.push(Date.now())))
        yield* Effect.all(
          Array.from({ length: 60 }, (_, n) => paced(n % 2 === 0 ? a : b)),
          { concurrency: "unbounded", discard: true }
        )
        // 60 requests at 50 a second, bursts of 5 included, take at least (60 - 5) / 45 s together; each process
        // pacing only its own 30 would be done in (30 - 5) / 45 s. (Timers only ever fire late, so this bound holds
        // on a busy machine; a count per observed second would not.)
        const elapsed = Math.max(...sent) - Math.min(...sent)
        assert.isAtLeast(elapsed, 1_150, `60 requests sent within ${elapsed} ms`)
        assert.strictEqual(sent.length, 60)
      }))

    it.scoped("gives back the slots of a connection that ends, all of them at the first recheck", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const a = yield* governor
        // Rechecks every 1 to 2 s: the only way for it to find slots freed without an announcement.
        const b = yield* Effect.flatMap(
          TestDatabase,
          (database) => makeFleetGovernor({ url: database.url, recheckMillis: 2_000 })
        )
        const project = "terminated-project"
        const stuck = yield* holders
        yield* Effect.all(Array.from({ length: 5 }, () => hold(a, project, "interactive", stuck.request)))
        yield* eventually(stuck.started, (n) => n === 5)

        const holder = yield* slotHolder(project)
        const fresh = yield* holders
        yield* Effect.all(Array.from({ length: 5 }, () => hold(b, project, "interactive", fresh.request)))
        // The other process has asked for a slot and found none: only a re-check can let it in now.
        yield* refusedElsewhere(holder)
        yield* sql`SELECT pg_terminate_backend(${holder})`
        yield* eventually(fresh.started, (n) => n === 5, 10_000)
        assert.strictEqual(yield* slotsTaken(project), 5)
        // b's first recheck finds a free slot, and then its other requests ask at once: one slot per recheck would
        // take at least 4 more rechecks of 1 s each.
        const times = yield* fresh.startedAt
        const spread = Math.max(...times) - Math.min(...times)
        assert.isBelow(spread, 1_000, `the 5 requests started over ${spread} ms`)
        yield* fresh.release
        yield* stuck.release
      }))

    it.scoped("announces the slots of a governor that closes: the other processes take them at once", () =>
      Effect.gen(function*() {
        const database = yield* TestDatabase
        const closing = yield* Scope.make()
        const a = yield* makeFleetGovernor({ url: database.url }).pipe(Scope.extend(closing))
        // No rechecks by the clock during the test: only an announcement lets b in.
        const b = yield* makeFleetGovernor({ url: database.url, recheckMillis: 60_000 })
        const project = "closing-project"
        const stuck = yield* holders
        yield* Effect.all(
          Array.from({ length: 5 }, () => Effect.forkDaemon(a.throttle(project, "interactive")(stuck.request)))
        )
        yield* eventually(stuck.started, (n) => n === 5)
        const holder = yield* slotHolder(project)
        const fresh = yield* holders
        yield* Effect.all(Array.from({ length: 5 }, () => hold(b, project, "interactive", fresh.request)))
        yield* refusedElsewhere(holder)
        assert.strictEqual(yield* fresh.started, 0, "a request started while 5 were in flight")

        // A process shutting down closes its governor with requests still out (their answers no longer matter).
        yield* Scope.close(closing, Exit.void)
        yield* eventually(fresh.started, (n) => n === 5, 5_000)
        assert.strictEqual(yield* slotsTaken(project), 5)
        yield* fresh.release
        yield* stuck.release
      }))
  })
})
