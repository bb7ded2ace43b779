/**
 * What the workflow engine alone costs per unit of scheduled work: `workflows` no-op workflows with one no-op
 * activity each, `concurrency` at a time, on the product's `singleRunner` and `clusterSharding` with the engine's
 * storage on PostgreSQL (`TEST_DATABASE_URL`, a throw-away database; else PGlite). An annotation push is one such
 * workflow whose activity calls the workspace's entity, so this is a floor under the CPU per push that
 * `bench:annotations` prints.
 */
import { Activity, Workflow } from "@effect/workflow"
import { TestDatabase, TestSqlLive, transactionCount } from "@findry/persistence/testing"
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { singleRunner } from "../src/Cluster.js"

export interface EngineBenchmarkOptions {
  readonly workflows: number
  readonly concurrency: number
}

const DEFAULTS: EngineBenchmarkOptions = { workflows: 1000, concurrency: 100 }

/** CPU per push that 60 % of `bench:annotations`' ceiling on one runner allows (≈ 236 pushes/s on one core). */
const PUSH_BUDGET_MS = 1000 / (0.6 * 394)

const Noop = Workflow.make({
  name: "Bench/Noop",
  payload: { id: Schema.String },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id
})

const NoopLive = Noop.toLayer(({ id }) =>
  Activity.make({ name: "Step", success: Schema.Number, execute: Effect.succeed(id.length) })
)

const runAll = (prefix: string, count: number, concurrency: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => `${prefix}-${i}`), (id) => Noop.execute({ id }), {
    concurrency,
    discard: true
  })

export const runEngineBenchmark = (print: (line: string) => void, overrides: Partial<EngineBenchmarkOptions> = {}) => {
  const options = { ...DEFAULTS, ...overrides }
  return Effect.gen(function*() {
    const database = yield* TestDatabase
    yield* runAll("warm-up", 50, 50)
    const transactionsBefore = yield* transactionCount
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    yield* runAll("run", options.workflows, options.concurrency)
    const seconds = (performance.now() - started) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const cpuMs = (cpu.user + cpu.system) / 1000 / options.workflows
    const transactions = (yield* transactionCount) - transactionsBefore
    print(
      `Workflow engine alone: ${options.workflows} no-op workflows with one no-op activity each, ` +
        `${options.concurrency} at a time (${database.kind}, the product's single runner and sharding settings)`
    )
    print(`  wall ${seconds.toFixed(2)} s, ${(options.workflows / seconds).toFixed(0)} workflows/s`)
    print(
      `  CPU ${cpuMs.toFixed(2)} ms per workflow, ${(cpuMs / PUSH_BUDGET_MS).toFixed(1)} × the ` +
        `${PUSH_BUDGET_MS.toFixed(1)} ms per push that 60 % of bench:annotations' ceiling on one runner allows; ` +
        `${(transactions / options.workflows).toFixed(1)} PostgreSQL transactions per workflow`
    )
  }).pipe(
    Effect.provide(
      NoopLive.pipe(
        Layer.provideMerge(singleRunner({ runnerStorage: "sql" }).pipe(Layer.orDie)),
        Layer.provideMerge(TestSqlLive({ maxConnections: 10 })),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
      )
    ),
    Effect.runPromise
  )
}
