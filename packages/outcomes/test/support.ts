import type { StoredConnection } from "@findry/amplitude-adapter"
import { amplitudeTestClient, KeyringTest } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type Project, type ProjectData } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { Effect, Layer, Logger, Redacted } from "effect"
import { randomUUID } from "node:crypto"

/** The adapter over real HTTP against a fresh emulator, plus the sealer to store keys as the API does. */
export const AmplitudeTestLive = amplitudeTestClient(AmplitudeEmulator, { timeout: "2 seconds" }).pipe(
  Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: true })),
  Layer.provideMerge(SecretSealer.DefaultWithoutDependencies),
  Layer.provide(KeyringTest),
  Layer.provide(Logger.replace(Logger.defaultLogger, Logger.none))
)

/** Seals the project's keys as the API stores them. */
export const storedConnection = (project: Project) =>
  Effect.gen(function*() {
    const sealer = yield* SecretSealer
    const workspaceId = randomUUID()
    const seal = (value: string, slot: number) =>
      Effect.map(sealer.seal(Redacted.make(value), { workspaceId, provider: "amplitude", slot }), (s) => s.sealed)
    return {
      workspaceId,
      region: project.region,
      apiKey: yield* seal(project.apiKey, 1),
      secretKey: yield* seal(project.secretKey, 2),
      managementKey: null
    } satisfies StoredConnection
  })

/** Reference computations over the emulator's seeded data (README "how values are computed"). */
export const reference = (data: ProjectData) => {
  const inRange = (day: string, start: string, end: string) => day >= start && day <= end
  const members = (cohortId: string | null) =>
    cohortId === null ? undefined : new Set(data.cohorts.find((c) => c.id === cohortId)!.userIds)
  const occurrences = (
    event: string,
    start: string,
    end: string,
    options: { cohortId?: string | null; filters?: ReadonlyArray<{ property: string; value: string }> } = {}
  ) => {
    const scope = members(options.cohortId ?? null)
    return data.events.find((e) => e.name === event)!.occurrences.filter((o) =>
      inRange(o.day, start, end) && (scope === undefined || scope.has(o.userId)) &&
      (options.filters ?? []).every((f) => String(o.properties[f.property]) === f.value)
    )
  }
  const numbers = (list: ReadonlyArray<{ properties: Readonly<Record<string, string | number>> }>, p: string) =>
    list.map((o) => Number(o.properties[p])).filter(Number.isFinite)
  const sum = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)
  const days = (start: string, end: string) => data.days.filter((day) => inRange(day, start, end))
  return { inRange, members, occurrences, numbers, sum, days }
}
