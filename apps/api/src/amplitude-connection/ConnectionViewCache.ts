import type { AmplitudeConnection, UserId, WorkspaceId } from "@findry/domain"
import { type WorkspaceChange, WorkspaceChanges, type WorkspaceChangesLost } from "@findry/persistence"
import { Clock, Config, Effect, Option, Stream } from "effect"

/** `FINDRY_CONNECTION_VIEW_TTL_MS`: the longest a member's connection view is reused; 0 reads every time. */
export const connectionViewTtlConfig = Config.integer("FINDRY_CONNECTION_VIEW_TTL_MS").pipe(
  Config.validate({ message: "must be a number of milliseconds, 0 or more", validation: (ms) => ms >= 0 }),
  Config.withDefault(60_000)
)

/** Past this many remembered views the oldest workspace's are dropped. */
const MAX_ENTRIES = 10_000

interface Entry {
  readonly view: AmplitudeConnection
  readonly expiresAt: number
}

/**
 * Connection views recently answered to a member, so that clients polling `GET …/integrations/amplitude` cost
 * no database round trip. Views are reused only while the database's change feed (`WorkspaceChanges`) is heard:
 * every change to a workspace's connection or members, made anywhere, drops its views as soon as it is
 * announced, and this process's own writes drop them at once (`invalidate`). Without a feed (the embedded
 * database) or while it is lost, every request reads the database; the time-to-live bounds what a feed that
 * failed without telling could cost.
 */
export class ConnectionViewCache extends Effect.Service<ConnectionViewCache>()("@findry/api/ConnectionViewCache", {
  scoped: Effect.gen(function*() {
    const ttlMillis = yield* connectionViewTtlConfig
    const { feed } = yield* WorkspaceChanges
    const byWorkspace = new Map<WorkspaceId, Map<UserId, Entry>>()
    let size = 0
    /** Bumped by every invalidation: a read that started before a change does not store what it read. */
    let generation = 0
    /** True while the feed is heard, so that no announced change can be missed. */
    let listening = false

    const drop = (workspaceId: WorkspaceId) => {
      const views = byWorkspace.get(workspaceId)
      if (views === undefined) return
      size -= views.size
      byWorkspace.delete(workspaceId)
    }

    const forget = (workspaceId: WorkspaceId) => {
      generation++
      drop(workspaceId)
    }

    const stopListening = () => {
      listening = false
      generation++
      byWorkspace.clear()
      size = 0
    }

    const store = (workspaceId: WorkspaceId, userId: UserId, entry: Entry) => {
      if (size >= MAX_ENTRIES) drop(byWorkspace.keys().next().value!)
      let views = byWorkspace.get(workspaceId)
      if (views === undefined) byWorkspace.set(workspaceId, views = new Map())
      if (!views.has(userId)) size++
      views.set(userId, entry)
    }

    const apply = (change: WorkspaceChange) =>
      Effect.sync(() => {
        if (change._tag === "Heard") listening = true
        else forget(change.workspaceId)
      })

    const lose = (lost: WorkspaceChangesLost) =>
      Effect.suspend(() => {
        const wasListening = listening
        stopListening()
        const message = "Lost the workspace change feed; connection views are read from the database until it is back"
        return Effect.annotateLogs(
          wasListening ? Effect.logWarning(message) : Effect.logDebug(message),
          "reason",
          lost.reason
        )
      })

    if (ttlMillis > 0 && Option.isSome(feed)) {
      const follow = feed.value.pipe(
        Stream.tapError(lose),
        Stream.runForEach(apply),
        Effect.ensuring(Effect.sync(stopListening)),
        Effect.sandbox,
        Effect.ignore
      )
      yield* follow.pipe(Effect.zipRight(Effect.sleep("2 seconds")), Effect.forever, Effect.forkScoped)
    }

    /** The member's view from the cache while it is fresh, otherwise from `read` (and remembered). */
    const through = <E, R>(
      workspaceId: WorkspaceId,
      userId: UserId,
      read: Effect.Effect<AmplitudeConnection, E, R>
    ): Effect.Effect<AmplitudeConnection, E, R> =>
      Effect.suspend(() => {
        if (!listening) return read
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const cached = byWorkspace.get(workspaceId)?.get(userId)
          if (cached !== undefined && cached.expiresAt > now) return Effect.succeed(cached.view)
          const startedAt = generation
          return Effect.tap(read, (view) => {
            if (listening && generation === startedAt) store(workspaceId, userId, { view, expiresAt: now + ttlMillis })
          })
        })
      })

    /** Forgets every view of the workspace; call after any change to its connection or its members. */
    const invalidate = (workspaceId: WorkspaceId): Effect.Effect<void> => Effect.sync(() => forget(workspaceId))

    /** Whether views are being reused: the feed is heard and the time-to-live is not 0. */
    const isListening = Effect.sync(() => listening)

    return { through, invalidate, isListening } as const
  })
}) {}
