import { SqlClient } from "@effect/sql"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { amplitudeKeys, clientAs, workspaceOf } from "./Client.js"
import { call } from "./Http.js"
import { freshUser } from "./TestApi.js"

/**
 * An admin's workspace connected to an emulator project of its own , with a Findry
 * project and a metric: what a decision needs. `decide(title)` records a bet, whose annotation is then enqueued.
 */
export const connectedWorkspace = (amplitudeProjectId: string) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const amplitude = yield* emulator.createProject({
      id: amplitudeProjectId,
      data: { users: 5, days: 7, experiments: 0 }
    })
    const admin = freshUser("admin")
    const workspaceId = yield* workspaceOf(admin)
    const client = yield* clientAs(admin)
    const path = { workspaceId }
    yield* client.amplitudeConnection.connect({ path, payload: amplitudeKeys(amplitude) }).pipe(Effect.orDie)
    const project = yield* client.workspaces.createProject({ path, payload: { name: "Web" } }).pipe(Effect.orDie)
    const metricId = randomUUID()
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${metricId}, ${workspaceId}, 'conversion', 'percent')`
      .pipe(Effect.orDie)
    const projectId = project.id
    /** Records a bet; the raw answer, which the no-runner test reads as it is. */
    const decide = (title: string) =>
      call("POST", `/v1/workspaces/${workspaceId}/projects/${projectId}/bets`, {
        user: admin,
        body: {
          title,
          predictedImpact: {
            metricId,
            direction: "increase",
            magnitude: 5,
            magnitudeUnit: "percent",
            timeframeDays: 14
          }
        }
      })
    return { amplitude, admin, workspaceId, projectId, metricId, decide }
  })
