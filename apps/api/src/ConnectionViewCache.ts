import type { AmplitudeConnection, UserId, WorkspaceId } from "@findry/domain"
import { Clock, Config, Effect } from "effect"

/** `FINDRY_CONNECTION_VIEW_TTL_MS`: how long a member's connection view is reused; 0 reads every time. */
export const connectionViewTtlConfig = Config.integer("FINDRY_CONNECTION_VIEW_TTL_MS").pipe(
  Config.validate({ message: "must be a number of milliseconds, 0 or more", validation: (ms) => ms >= 0 }),
  Config.withDefault(1000)
)

/** Past this many remembered views the oldest workspace's are dropped. */
const MAX_ENTRIES = 10_000

interface Entry {
  readonly view: AmplitudeConnection
  readonly expiresAt: number
}

/**
 * Connection views recently answered to a member, so that clients polling `GET …/integrations/amplitude` cost
 * no database round trip. A write made through this process drops the workspace's views at once (`invalidate`);
 * one made elsewhere (another replica, the scheduler's push status, SQL) shows within the time-to-live, and so
 * does a member's removal through another replica.
 */
export class ConnectionViewCache extends Effect.Service<ConnectionViewCache>()("@findry/api/ConnectionViewCache", {
  effect: Effect.gen(function*() {
    const ttlMillis = yield* connectionViewTtlConfig
    const byWorkspace = new Map<WorkspaceId, Map<UserId, Entry>>()
    let size = 0
    /** Bumped by every invalidation: a read that started before a write does not store what it read. */
    let generation = 0

    const drop = (workspaceId: WorkspaceId) => {
      const views = byWorkspace.get(workspaceId)
      if (views === undefined) return
      size -= views.size
      byWorkspace.delete(workspaceId)
    }

    const store = (workspaceId: WorkspaceId, userId: UserId, entry: Entry) => {
      if (size >= MAX_ENTRIES) drop(byWorkspace.keys().next().value!)
      let views = byWorkspace.get(workspaceId)
      if (views === undefined) byWorkspace.set(workspaceId, views = new Map())
      if (!views.has(userId)) size++
      views.set(userId, entry)
    }

    /** The member's view from the cache while it is fresh, otherwise from `read` (and remembered). */
    const through = <E, R>(
      workspaceId: WorkspaceId,
      userId: UserId,
      read: Effect.Effect<AmplitudeConnection, E, R>
    ): Effect.Effect<AmplitudeConnection, E, R> =>
      ttlMillis === 0 ? read : Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const cached = byWorkspace.get(workspaceId)?.get(userId)
        if (cached !== undefined && cached.expiresAt > now) return Effect.succeed(cached.view)
        const startedAt = generation
        return Effect.tap(read, (view) => {
          if (generation === startedAt) store(workspaceId, userId, { view, expiresAt: now + ttlMillis })
        })
      })

    /** Forgets every view of the workspace; call after any change to its connection or its members. */
    const invalidate = (workspaceId: WorkspaceId): Effect.Effect<void> =>
      Effect.sync(() => {
        generation++
        drop(workspaceId)
      })

    return { through, invalidate } as const
  })
}) {}
