import { PgClient } from "@effect/sql-pg"
import type { WorkspaceId } from "@findry/domain"
import { Context, Data, Effect, Layer, Option, Schedule, Stream } from "effect"

/** The channel migration 0007's triggers announce on. */
export const WORKSPACE_CHANGES_CHANNEL = "findry_workspace_changes"

/** What a listener announces to itself to prove the feed is alive; workspace ids never look like this. */
const HEARTBEAT = "heartbeat"
const HEARTBEAT_EVERY = "2 seconds"
const SILENCE_LIMIT = "6 seconds"

export type WorkspaceChange =
  /** The feed is alive: the listener heard its own heartbeat, so no announcement before this was missed. */
  | { readonly _tag: "Heard" }
  /** The workspace's integration rows or members changed. */
  | { readonly _tag: "Changed"; readonly workspaceId: WorkspaceId }

/** The feed failed or fell silent; changes may have been missed from then on. */
export class WorkspaceChangesLost extends Data.TaggedError("WorkspaceChangesLost")<{ readonly reason: string }> {}

/**
 * Workspaces whose integration rows or members changed, as PostgreSQL announces them on commit, whoever made the
 * change (any API replica, the scheduler, SQL by hand). `feed` is `None` where announcements cannot be heard:
 * the embedded PGlite serves a single connection, which listening would take.
 */
export class WorkspaceChanges extends Context.Tag("@findry/persistence/WorkspaceChanges")<WorkspaceChanges, {
  /**
   * Listens while it is consumed. The listener announces a heartbeat every 2 s; the feed fails with
   * `WorkspaceChangesLost` when listening fails or nothing is heard for 6 s.
   */
  readonly feed: Option.Option<Stream.Stream<WorkspaceChange, WorkspaceChangesLost>>
}>() {}

const heard: WorkspaceChange = { _tag: "Heard" }

/** Announcements on the server `PgClient` is connected to, heard on a connection of their own. */
export const WorkspaceChangesFromPostgres = Layer.effect(
  WorkspaceChanges,
  Effect.map(PgClient.PgClient, (pg) => {
    const heartbeats = pg`SELECT pg_notify(${WORKSPACE_CHANGES_CHANNEL}, ${HEARTBEAT})`.pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced(HEARTBEAT_EVERY)),
      Stream.fromEffect,
      Stream.drain
    )
    const announcements = pg.listen(WORKSPACE_CHANGES_CHANNEL).pipe(
      Stream.mapError((error) => new WorkspaceChangesLost({ reason: error.message }))
    )
    return {
      feed: Option.some(
        announcements.pipe(
          Stream.merge(heartbeats),
          Stream.timeoutFail(() => new WorkspaceChangesLost({ reason: "nothing heard for 6 s" }), SILENCE_LIMIT),
          Stream.map((payload): WorkspaceChange =>
            payload === HEARTBEAT ? heard : { _tag: "Changed", workspaceId: payload as WorkspaceId }
          )
        )
      )
    }
  })
)

/** No feed: for the embedded database. */
export const WorkspaceChangesUnavailable = Layer.succeed(WorkspaceChanges, { feed: Option.none() })
