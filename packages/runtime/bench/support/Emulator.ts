/**
 * The Amplitude emulator in a process of its own, so that its CPU is not counted as the product's: random ports,
 * one project `bench`; prints one JSON line with the URLs and the project's keys, then serves until killed.
 */
import { NodeRuntime } from "@effect/platform-node"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { Effect } from "effect"

Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator.make({ demoProjects: false })
  const project = yield* emulator.createProject({ id: "bench", data: { users: 20, days: 7 } })
  process.stdout.write(
    `${
      JSON.stringify({
        urls: emulator.urls,
        projectId: project.id,
        apiKey: project.apiKey,
        secretKey: project.secretKey
      })
    }\n`
  )
  return yield* Effect.never
}).pipe(Effect.scoped, NodeRuntime.runMain)
