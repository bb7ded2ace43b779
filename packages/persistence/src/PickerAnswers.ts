import { SqlClient } from "@effect/sql"
import type { WorkspaceId } from "@findry/domain"
import { Duration, Effect, Option } from "effect"

/**
 * The last answer of each Amplitude picker per workspace, shared by its members on every replica. An answer is
 * only ever given back for the credentials it was read with (`credentialsDigest`), so a re-key, a management key
 * change or a disconnect makes it unreachable at once; the next read replaces it.
 */
export class PickerAnswers extends Effect.Service<PickerAnswers>()("@findry/persistence/PickerAnswers", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** The stored answer, when it was read with these credentials less than `maxAge` ago. */
    const fresh = (
      workspaceId: WorkspaceId,
      picker: string,
      credentialsDigest: string,
      maxAge: Duration.DurationInput
    ): Effect.Effect<Option.Option<unknown>> =>
      sql<{ answer: unknown }>`
        SELECT answer FROM picker_answers
        WHERE workspace_id = ${workspaceId} AND picker = ${picker} AND credentials_digest = ${credentialsDigest}
          AND fetched_at > clock_timestamp() - make_interval(secs => ${Duration.toMillis(maxAge) / 1000})`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.answer)),
        Effect.orDie,
        Effect.withSpan("PickerAnswers.fresh", { attributes: { picker } })
      )

    const store = (
      workspaceId: WorkspaceId,
      picker: string,
      credentialsDigest: string,
      answer: unknown
    ): Effect.Effect<void> =>
      sql`
        INSERT INTO picker_answers (workspace_id, picker, credentials_digest, fetched_at, answer)
        VALUES (${workspaceId}, ${picker}, ${credentialsDigest}, clock_timestamp(), ${JSON.stringify(answer)}::jsonb)
        ON CONFLICT (workspace_id, picker) DO UPDATE SET
          credentials_digest = EXCLUDED.credentials_digest, fetched_at = EXCLUDED.fetched_at, answer = EXCLUDED.answer`
        .pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("PickerAnswers.store", { attributes: { picker } })
        )

    return { fresh, store } as const
  })
}) {}
