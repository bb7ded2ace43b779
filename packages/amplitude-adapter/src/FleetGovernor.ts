import { type FairSemaphore, type RateLimited, unsafeMakeFairSemaphore } from "@findry/domain"
import { Clock, Data, Duration, Effect, Layer, Metric, Option, Redacted, Runtime, Schedule, type Scope } from "effect"
import { createHash } from "node:crypto"
import pg from "pg"
import {
  AmplitudeGovernor,
  chargeWithoutWindow,
  DEFAULT_GOVERNOR_LIMITS,
  type Governor,
  type GovernorLimits,
  type Priority,
  recordCharge,
  refuseCharge,
  waitedFor
} from "./AmplitudeGovernor.js"
import { governorStatements } from "./internal/Metrics.js"

/** The channel a process announces a released slot on, with the project key as payload. */
export const SLOT_RELEASED_CHANNEL = "amplitude_governor_slot_released"

export interface FleetGovernorOptions {
  /** The PostgreSQL server every process of the fleet uses (the service's `DATABASE_URL`). */
  readonly url: Redacted.Redacted
  readonly limits?: Partial<GovernorLimits>
  /**
   * Longest time a process waits for a full project before it looks at the slots again by itself (default 100 ms,
   * jittered). Releases are announced and looked at at once; this catches slots freed by a process that died.
   */
  readonly recheckMillis?: number
}

/**
 * A concurrency slot this process holds: the advisory lock (project, `number`) on connection `connection`, handed
 * from one local request to the next `handOffs` times in a row since it was taken from the database.
 */
interface Slot {
  readonly number: number
  readonly connection: number
  readonly handOffs: number
}

/** The request whose turn it is to ask the database for a slot, waiting: a finished local request may hand it one. */
interface Taker {
  readonly priority: Priority
  slot: Slot | undefined
  /** Ends the wait: the slot was handed over, one may have come free, or it is time to look again. */
  readonly wake: () => void
}

/**
 * How many times in a row a slot goes straight from a finished request to a waiting one of the same process, before
 * it is given back to the database where the other processes' requests can take it.
 */
export const MAX_LOCAL_HAND_OFFS = 8

/** How long a slot no local request waits for stays with the process, for its next request, before it goes back. */
const IDLE_KEEP_MS = 2

interface FleetProject {
  readonly key: string
  /** First half of the project's advisory lock keys: (lockKey, slot) for slots, (lockKey, -1) for charges. */
  readonly lockKey: number
  /** Local gates in front of the database: at most as many of this process's requests wait as could run. */
  readonly all: FairSemaphore
  readonly background: FairSemaphore
  /** One request per priority at a time asks the database for a slot; the others wait behind it. */
  readonly turns: Record<Priority, FairSemaphore>
  /** Taking and giving back slots of the project on the shared connection, one at a time (see `tryTake`). */
  readonly mutex: FairSemaphore
  /** Slots this process holds. Session advisory locks are re-entrant, so a held slot must never be asked for again. */
  readonly held: Set<number>
  /** At most one per priority: the request holding that priority's turn while it waits for a slot. */
  readonly takers: Array<Taker>
  /** Slots released with no local request waiting, kept for `IDLE_KEEP_MS` for the process's next request. */
  readonly idle: Array<Slot>
  /** Counts the moments a slot of the project may have come free; the waiting takers are woken at each. */
  changes: number
  /**
   * Per priority, `changes` as it was when the database last had no slot for that priority: while it is still the
   * current count, nothing was released since, and asking again would only be refused.
   */
  readonly fullAsOf: Record<Priority, number | undefined>
  users: number
  inFlight: number
  peak: number
}

class GovernorDatabaseError extends Data.TaggedError("GovernorDatabaseError")<{ readonly message: string }> {}

interface Connection {
  readonly client: pg.Client
  readonly id: number
}

const TAKE_SLOT = "SELECT s AS slot FROM unnest($2::int[]) AS s WHERE pg_try_advisory_lock($1, s) LIMIT 1"
const GIVE_BACK_SLOT = "SELECT pg_advisory_unlock($1, $2), pg_notify($3, $4)"
const RELEASE_ALL = "SELECT pg_advisory_unlock_all(), pg_notify($1, key) FROM unnest($2::text[]) AS key"
const CHARGE = "SELECT charged_bucket, used, wait_ms FROM amplitude_governor_charge($1, $2, $3, $4, $5)"
const REFUND = "UPDATE amplitude_query_cost SET cost = cost - $3 WHERE project = $1 AND bucket_start = $2"
const PACE = "SELECT amplitude_governor_pace($1, $2, $3) AS wait_ms"
const COST_USED = `SELECT coalesce(sum(cost), 0) AS used FROM amplitude_query_cost
  WHERE project = $1 AND bucket_start + $2 + $3 > floor(extract(epoch FROM clock_timestamp()) * 1000)`

/** The first 32 bits of a SHA-256 of the project key: the project's half of its advisory lock keys. */
export const slotLockKey = (projectKey: string): number =>
  createHash("sha256").update(projectKey).digest().readInt32BE(0)

const noSlot: Slot | undefined = undefined

const SWEEP_THRESHOLD = 1024
const SWEEP_INTERVAL_MS = 60_000

const retrySchedule = Schedule.exponential(Duration.millis(100)).pipe(Schedule.union(Schedule.spaced("2 seconds")))

/**
 * Amplitude's per-project limits shared by every process on one PostgreSQL database:
 *
 * - concurrency: a request runs while it holds one of the project's slots, a session advisory lock
 *   (project, 0..n-1) taken on this process's own connection; background requests use slots 0..n-2 only, so one
 *   stays for interactive calls. A process that dies loses its connection, and PostgreSQL frees its slots at once;
 * - the query budget: charges per bucket in `amplitude_query_cost`, checked and added in one call of
 *   `amplitude_governor_charge` under the project's transaction lock;
 * - Experiment pacing: the token bucket of `amplitude_governor_pace`, refilled at 90 % of the limit with bursts of
 *   10 %, so that no second holds more than the limit.
 *
 * Every statement runs on the one connection the governor opens, lazily and again after a loss. Losing it frees
 * this process's slots while its requests may still be running: that is logged as a warning. A request never
 * goes out without its slot: while the database cannot be reached, requests wait.
 */
export const makeFleetGovernor = (options: FleetGovernorOptions): Effect.Effect<Governor, never, Scope.Scope> =>
  Effect.gen(function*() {
    const limits: GovernorLimits = { ...DEFAULT_GOVERNOR_LIMITS, ...options.limits }
    const recheckMillis = options.recheckMillis ?? 100
    const windowMs = Duration.toMillis(limits.budgetWindow)
    const bucketMs = Math.max(1000, Math.floor(windowMs / 60))
    const slotsFor: Record<Priority, number> = {
      interactive: limits.concurrentRequests,
      background: Math.max(1, limits.concurrentRequests - limits.reservedForInteractive)
    }
    const paceBurst = Math.max(1, Math.floor(limits.experimentRequestsPerSecond / 10))
    const paceRate = Math.max(1, limits.experimentRequestsPerSecond - paceBurst)
    const runtime = yield* Effect.runtime<never>()
    const warn = (message: string, annotations: Record<string, unknown> = {}) =>
      Runtime.runFork(runtime)(Effect.logWarning(message).pipe(Effect.annotateLogs(annotations)))

    const projects = new Map<string, FleetProject>()

    const signal = (project: FleetProject) => {
      project.changes++
      for (const taker of [...project.takers]) taker.wake()
    }

    const projectOf = (key: string, now: number): FleetProject => {
      sweepIfDue(now)
      let project = projects.get(key)
      if (project === undefined) {
        project = {
          key,
          lockKey: slotLockKey(key),
          all: unsafeMakeFairSemaphore(slotsFor.interactive),
          background: unsafeMakeFairSemaphore(slotsFor.background),
          turns: { interactive: unsafeMakeFairSemaphore(1), background: unsafeMakeFairSemaphore(1) },
          mutex: unsafeMakeFairSemaphore(1),
          held: new Set(),
          takers: [],
          idle: [],
          changes: 0,
          fullAsOf: { interactive: undefined, background: undefined },
          users: 0,
          inFlight: 0,
          peak: 0
        }
        projects.set(key, project)
      }
      return project
    }

    /**
     * Drops projects no request uses and that hold no slot, at most once a minute or sooner once this many are
     * tracked (the next early sweep then waits for twice as many): memory follows the projects in use.
     */
    let nextSweepAt = SWEEP_THRESHOLD
    let lastSweep = 0
    const sweepIfDue = (now: number) => {
      if (now - lastSweep < SWEEP_INTERVAL_MS && projects.size < nextSweepAt) return
      for (const [key, project] of projects) if (project.users === 0 && project.held.size === 0) projects.delete(key)
      nextSweepAt = Math.max(SWEEP_THRESHOLD, 2 * projects.size)
      lastSweep = now
    }

    // The connection: opened on first use, dropped on any error, opened again by the next statement.
    let current: Connection | undefined
    let connecting: Promise<Connection> | undefined
    let connections = 0
    let closed = false

    const dropConnection = (connection: Connection, reason: string) => {
      if (current !== connection) return
      current = undefined
      let slotsLost = 0
      for (const project of projects.values()) {
        slotsLost += project.held.size
        project.held.clear()
        project.idle.length = 0
        signal(project)
      }
      connection.client.end().catch(() => undefined)
      if (!closed) {
        warn(
          slotsLost === 0
            ? "Lost the Amplitude governor's PostgreSQL connection; reconnecting"
            : "Lost the Amplitude governor's PostgreSQL connection: PostgreSQL freed this process's Amplitude " +
              "slots while its requests were still running, so other processes may briefly exceed the limit; reconnecting",
          { reason, slotsLost }
        )
      }
    }

    const open = async (): Promise<Connection> => {
      const client = new pg.Client({
        connectionString: Redacted.value(options.url),
        application_name: "findry-amplitude-governor",
        connectionTimeoutMillis: 5_000,
        statement_timeout: 10_000,
        // A host that vanishes without closing the socket is noticed within seconds.
        keepAlive: true,
        keepAliveInitialDelayMillis: 1_000
      })
      const connection: Connection = { client, id: ++connections }
      client.on("error", (error) => dropConnection(connection, error.message))
      client.on("end", () => dropConnection(connection, "the server closed the connection"))
      client.on("notification", (message) => {
        const project = message.payload === undefined ? undefined : projects.get(message.payload)
        if (project !== undefined) signal(project)
      })
      try {
        await client.connect()
        // A charge need not wait for its WAL to reach the disk: a database crash may forget the last few charges,
        // which only undercounts a budget that Amplitude enforces itself as well.
        await client.query("SET synchronous_commit = off")
        await client.query(`LISTEN ${SLOT_RELEASED_CHANNEL}`)
        return connection
      } catch (error) {
        await client.end().catch(() => undefined)
        throw error
      }
    }

    const connection: Effect.Effect<Connection, GovernorDatabaseError> = Effect.suspend(() => {
      if (current !== undefined) return Effect.succeed(current)
      if (closed) return Effect.fail(new GovernorDatabaseError({ message: "the governor is closed" }))
      connecting ??= open().then(
        (opened) => {
          connecting = undefined
          current = opened
          if (closed) opened.client.end().catch(() => undefined)
          return opened
        },
        (error: unknown) => {
          connecting = undefined
          throw error
        }
      )
      const pending = connecting
      return Effect.tryPromise({
        try: () => pending,
        catch: (error) => new GovernorDatabaseError({ message: error instanceof Error ? error.message : String(error) })
      })
    })

    // The driver runs one statement at a time per connection; they queue here rather than in the driver.
    const statements = unsafeMakeFairSemaphore(1)

    const query = <Row>(text: string, values: ReadonlyArray<unknown>) =>
      Effect.flatMap(connection, (open) =>
        statements.withPermit(Effect.zipRight(
          Metric.increment(governorStatements),
          Effect.tryPromise({
            try: () => open.client.query(text, [...values]),
            catch: (error) => {
              const message = error instanceof Error ? error.message : String(error)
              // Whatever went wrong, what the connection holds is no longer known: start again from nothing held.
              dropConnection(open, message)
              return new GovernorDatabaseError({ message })
            }
          })
        )).pipe(Effect.map((result) => ({ rows: result.rows as Array<Row>, connection: open.id }))))

    /** Runs a statement until it succeeds, waiting longer between attempts (up to 2 s) while PostgreSQL is away. */
    const persistently = <A>(statement: Effect.Effect<A, GovernorDatabaseError>): Effect.Effect<A> =>
      statement.pipe(
        Effect.tapError((error) =>
          Effect.logWarning("The Amplitude governor cannot reach PostgreSQL; retrying").pipe(
            Effect.annotateLogs("reason", error.message)
          )
        ),
        Effect.retry(retrySchedule),
        Effect.orDie
      )

    /** Asks PostgreSQL for one slot this process does not hold yet; undefined when all of them are taken. */
    const tryTake = (
      project: FleetProject,
      priority: Priority
    ): Effect.Effect<Slot | undefined, GovernorDatabaseError> =>
      project.mutex.withPermit(Effect.suspend(() => {
        const candidates: Array<number> = []
        for (let slot = 0; slot < slotsFor[priority]; slot++) if (!project.held.has(slot)) candidates.push(slot)
        if (candidates.length === 0) return Effect.succeed(noSlot)
        return Effect.map(query<{ slot: number }>(TAKE_SLOT, [project.lockKey, candidates]), ({ connection, rows }) => {
          const taken = rows[0]
          // A lock taken on a connection lost meanwhile went with it.
          if (taken === undefined || current?.id !== connection) return undefined
          project.held.add(taken.slot)
          return { number: taken.slot, connection, handOffs: 0 }
        })
      }))

    const giveBack = (project: FleetProject, slot: Slot): Effect.Effect<void> =>
      project.mutex.withPermit(Effect.suspend(() => {
        // Lost with its connection: PostgreSQL already freed it and `held` was cleared.
        if (current?.id !== slot.connection) return Effect.void
        return query(GIVE_BACK_SLOT, [project.lockKey, slot.number, SLOT_RELEASED_CHANNEL, project.key]).pipe(
          Effect.tap(() => project.held.delete(slot.number)),
          Effect.ignore
        )
      })).pipe(Effect.ensuring(Effect.sync(() => signal(project))))

    /** Gives `slot` to a local request waiting for one that may use it; false when none does or it must go back. */
    const handOff = (project: FleetProject, slot: Slot): boolean => {
      if (slot.handOffs >= MAX_LOCAL_HAND_OFFS || current?.id !== slot.connection) return false
      const index = project.takers.findIndex((taker) => slot.number < slotsFor[taker.priority])
      const taker = project.takers[index]
      if (taker === undefined) return false
      project.takers.splice(index, 1)
      taker.slot = { ...slot, handOffs: slot.handOffs + 1 }
      taker.wake()
      return true
    }

    /** An idle slot of the project that `priority` may use, taken for a request of this process. */
    const takeIdle = (project: FleetProject, priority: Priority): Slot | undefined => {
      const index = project.idle.findIndex((slot) => slot.number < slotsFor[priority])
      const slot = project.idle[index]
      if (slot === undefined) return undefined
      project.idle.splice(index, 1)
      return current?.id === slot.connection ? { ...slot, handOffs: slot.handOffs + 1 } : undefined
    }

    /**
     * A finished request's slot goes straight to a request of this process waiting for one, when there is one that
     * may use it (no statement, and no gap in which the slot stands free); with none waiting, it stays idle with the
     * process for `IDLE_KEEP_MS`, for the request its end lets through its local gates or its next call. At most
     * `MAX_LOCAL_HAND_OFFS` times in a row: then, or when nobody took it, it goes back to the database.
     */
    const release = (project: FleetProject, slot: Slot): Effect.Effect<void> =>
      Effect.suspend(() => {
        // Handed over: the taker sends its request before this one goes on with its answer.
        if (handOff(project, slot)) return Effect.yieldNow()
        if (slot.handOffs >= MAX_LOCAL_HAND_OFFS || current?.id !== slot.connection) {
          // The answer need not wait for the slot's release to reach the database.
          return Effect.asVoid(Effect.forkDaemon(giveBack(project, slot)))
        }
        project.idle.push(slot)
        return Effect.asVoid(Effect.forkDaemon(
          Effect.sleep(Duration.millis(IDLE_KEEP_MS)).pipe(Effect.zipRight(Effect.suspend(() => {
            const index = project.idle.indexOf(slot)
            if (index < 0) return Effect.void
            project.idle.splice(index, 1)
            return handOff(project, slot) ? Effect.void : giveBack(project, slot)
          })))
        ))
      })

    /**
     * Waits until a slot may have come free (a release here or elsewhere since `changes`, or the jittered recheck
     * interval), or until a local request hands one over: then with that slot. One callback per wait, no fibers.
     */
    const awaitSlot = (project: FleetProject, priority: Priority, changes: number): Effect.Effect<Slot | undefined> =>
      Effect.suspend(() => {
        if (project.changes !== changes) return Effect.succeed(noSlot)
        let woken = false
        let timer: ReturnType<typeof setTimeout> | undefined
        let resume: ((slot: Effect.Effect<Slot | undefined>) => void) | undefined
        const stop = () => {
          woken = true
          clearTimeout(timer)
          const index = project.takers.indexOf(taker)
          if (index >= 0) project.takers.splice(index, 1)
        }
        const taker: Taker = {
          priority,
          slot: undefined,
          wake: () => {
            if (woken) return
            stop()
            resume?.(Effect.succeed(taker.slot))
          }
        }
        // Interactive takers first: they may use every slot, and a person waits for them.
        if (priority === "interactive") project.takers.unshift(taker)
        else project.takers.push(taker)
        return Effect.interruptible(Effect.async<Slot | undefined>((callback) => {
          if (woken) return callback(Effect.succeed(taker.slot))
          resume = callback
          timer = setTimeout(taker.wake, recheckMillis / 2 + Math.random() * (recheckMillis / 2))
          return Effect.sync(stop)
        })).pipe(
          // Interrupted, possibly after a hand-off: the slot goes back.
          Effect.onInterrupt(() => {
            stop()
            const slot = taker.slot
            taker.slot = undefined
            return slot === undefined ? Effect.void : giveBack(project, slot)
          })
        )
      })

    /**
     * Waits for a slot: runs uninterruptibly, so that a slot taken is always handed over, except while it waits for
     * its turn or for a slot to come free.
     */
    const acquireSlot = (project: FleetProject, priority: Priority): Effect.Effect<Slot> => {
      const turn = project.turns[priority]
      const wait = (changes: number) =>
        Effect.flatMap(
          awaitSlot(project, priority, changes),
          (handed) => handed !== undefined ? Effect.succeed(handed) : attempt(0, true)
        )
      /** Without `ask`, a request that comes after a refusal with nothing released since waits without asking. */
      const attempt = (failures: number, ask: boolean): Effect.Effect<Slot> =>
        Effect.suspend(() => {
          const idle = takeIdle(project, priority)
          if (idle !== undefined) return Effect.succeed(idle)
          const changes = project.changes
          if (!ask && project.fullAsOf[priority] === changes) return wait(changes)
          return Effect.matchEffect(tryTake(project, priority), {
            onFailure: (error) =>
              Effect.logWarning("The Amplitude governor cannot reach PostgreSQL; the request waits").pipe(
                Effect.annotateLogs("reason", error.message),
                Effect.zipRight(
                  Effect.interruptible(Effect.sleep(Duration.millis(Math.min(2000, 100 * 2 ** failures))))
                ),
                Effect.zipRight(attempt(failures + 1, true))
              ),
            onSuccess: (slot) => {
              if (slot !== undefined) {
                // The database had a slot: it may have more, so the next request of this priority asks as well.
                project.fullAsOf[priority] = undefined
                return Effect.succeed(slot)
              }
              project.fullAsOf[priority] = changes
              return wait(changes)
            }
          })
        })
      return Effect.suspend(() => {
        const idle = takeIdle(project, priority)
        if (idle !== undefined) return Effect.succeed(idle)
        return Effect.zipRight(Effect.interruptible(turn.take), attempt(0, false).pipe(Effect.ensuring(turn.release)))
      })
    }

    const throttle = (projectKey: string, priority: Priority) => <A, E, R>(request: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Clock.currentTimeMillis, (since) => {
        const project = projectOf(projectKey, since)
        project.users++
        const fleet = Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            acquireSlot(project, priority),
            (slot) =>
              Effect.flatMap(Clock.currentTimeMillis, (admitted) => {
                project.inFlight++
                project.peak = Math.max(project.peak, project.inFlight)
                return Metric.update(waitedFor.concurrency[priority], (admitted - since) / 1000).pipe(
                  Effect.zipRight(restore(request)),
                  Effect.ensuring(Effect.suspend(() => {
                    project.inFlight--
                    return release(project, slot)
                  }))
                )
              })
          )
        )
        const local = project.all.withPermit(fleet)
        return (priority === "background" ? project.background.withPermit(local) : local).pipe(
          Effect.ensuring(Effect.sync(() => project.users--))
        )
      })

    /**
     * Budget this process charged ahead for a project, in the bucket `bucket`, and spends without a statement until
     * that bucket ends; what is left then is given back.
     */
    interface Lease {
      remaining: number
      readonly bucket: string
      readonly until: number
    }
    const leases = new Map<string, Lease>()
    /** How much budget a charge takes ahead for the process's next charges: a 200th of the budget. */
    const leaseChunk = Math.floor(limits.queryBudget / 200)

    const refundStatement = (projectKey: string, bucket: string, cost: number) =>
      query(REFUND, [projectKey, bucket, cost]).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning("Could not give back query budget: a refused query's cost or a lease's unspent rest").pipe(
            Effect.annotateLogs("reason", error.message)
          )
        ),
        Effect.asVoid
      )

    /** Spends `cost` from the project's lease: the refund, or undefined when the lease cannot pay it. */
    const spendLease = (projectKey: string, cost: number, now: number): Effect.Effect<void> | undefined => {
      const lease = leases.get(projectKey)
      if (lease === undefined) return undefined
      if (now >= lease.until) {
        leases.delete(projectKey)
        if (lease.remaining > 0) Runtime.runFork(runtime)(refundStatement(projectKey, lease.bucket, lease.remaining))
        return undefined
      }
      if (lease.remaining < cost) return undefined
      lease.remaining -= cost
      return Effect.sync(() => {
        if (leases.get(projectKey) === lease) lease.remaining += cost
      })
    }

    const charge = (
      projectKey: string,
      cost: number,
      wait: boolean
    ): Effect.Effect<Effect.Effect<void>, RateLimited> => {
      const decided = chargeWithoutWindow(cost, limits.queryBudget)
      if (Option.isSome(decided)) return decided.value
      const lockKey = slotLockKey(projectKey)
      const chargeRow = (amount: number) =>
        persistently(query<{ charged_bucket: string | null; used: string; wait_ms: string }>(
          CHARGE,
          [projectKey, lockKey, amount, limits.queryBudget, windowMs]
        )).pipe(Effect.map(({ rows }) => rows[0]!))
      // With a lease to take, the cost and the lease in one statement; when both do not fit, the cost alone.
      const chargeWithLease = (now: number) =>
        leaseChunk === 0 ? chargeRow(cost) : Effect.flatMap(chargeRow(cost + leaseChunk), (row) => {
          const bucket = row.charged_bucket
          if (bucket === null) return chargeRow(cost)
          leases.set(projectKey, {
            remaining: leaseChunk,
            bucket,
            until: Math.min(now + bucketMs, Number(bucket) + bucketMs)
          })
          return Effect.succeed(row)
        })
      const attempt = (since: number): Effect.Effect<Effect.Effect<void>, RateLimited> =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const fromLease = spendLease(projectKey, cost, now)
          if (fromLease !== undefined) {
            return Effect.as(recordCharge(cost, undefined, now - since), fromLease)
          }
          return Effect.flatMap(chargeWithLease(now), (row) => {
            if (row.charged_bucket !== null) {
              const refund = refundStatement(projectKey, row.charged_bucket, cost)
              return Effect.as(recordCharge(cost, Number(row.used) / limits.queryBudget, now - since), refund)
            }
            const waitMs = Number(row.wait_ms)
            return wait
              ? Effect.zipRight(Effect.sleep(Duration.millis(waitMs)), attempt(since))
              : refuseCharge(waitMs)
          })
        })
      return Effect.flatMap(Clock.currentTimeMillis, attempt)
    }

    const pace = (projectKey: string): Effect.Effect<void> =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (since) =>
          Effect.flatMap(
            persistently(query<{ wait_ms: string }>(PACE, [projectKey, paceRate, paceBurst])),
            ({ rows }) => {
              const waitMs = Number(rows[0]!.wait_ms)
              if (waitMs <= 0) return Effect.void
              return Effect.sleep(Duration.millis(waitMs)).pipe(
                Effect.zipRight(Clock.currentTimeMillis),
                Effect.flatMap((now) => Metric.update(waitedFor.experimentPace, (now - since) / 1000))
              )
            }
          )
      )

    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closed = true
        const open = current ?? (await connecting?.catch(() => undefined))
        current = undefined
        // Ending the session frees every slot it holds; the other processes' waiting requests are told at once
        // instead of finding the slots at their next recheck.
        const holding = [...projects.values()].filter((project) => project.held.size > 0).map((project) => project.key)
        if (open !== undefined && holding.length > 0) {
          await open.client.query(RELEASE_ALL, [SLOT_RELEASED_CHANNEL, holding]).catch(() => undefined)
        }
        await open?.client.end().catch(() => undefined)
      })
    )

    return {
      limits,
      throttle,
      charge,
      pace,
      peakInFlight: (projectKey) => projects.get(projectKey)?.peak ?? 0,
      costUsed: (projectKey) =>
        Effect.map(
          persistently(query<{ used: string }>(COST_USED, [projectKey, bucketMs, windowMs])),
          ({ rows }) => Number(rows[0]!.used)
        ),
      trackedProjects: () => projects.size
    } satisfies Governor
  })

/** `AmplitudeGovernor` shared by every process on the PostgreSQL server at `options.url`; see `makeFleetGovernor`. */
export const FleetGovernorLive = (options: FleetGovernorOptions): Layer.Layer<AmplitudeGovernor> =>
  Layer.scoped(AmplitudeGovernor, makeFleetGovernor(options))
