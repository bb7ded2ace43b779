import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"

export class Healthy extends Schema.Class<Healthy>("Healthy")({
  status: Schema.Literal("ok")
}) {}

export const CheckStatus = Schema.Literal("ok", "failing")

export class ReadinessChecks extends Schema.Class<ReadinessChecks>("ReadinessChecks")({
  database: CheckStatus,
  migrations: CheckStatus,
  /**
   * A process that runs the jobs: `ok`, or `failing` when a due message waited longer than the stall threshold
   * (docs/scheduler.md#stall-alarm). A process that only enqueues for separate runners reports without failing:
   * `ok`, `no_runner` (no runner alive: the work waits) or `stalled` (runners alive, work waiting too long).
   */
  scheduler: Schema.Literal("ok", "failing", "no_runner", "stalled")
}) {}

export class Ready extends Schema.Class<Ready>("Ready")({
  status: Schema.Literal("ready"),
  checks: ReadinessChecks
}) {}

export class NotReady extends Schema.TaggedError<NotReady>()(
  "NotReady",
  {
    message: Schema.String,
    failing: Schema.Array(Schema.String),
    checks: ReadinessChecks
  },
  HttpApiSchema.annotations({ status: 503 })
) {}

export class HealthApi extends HttpApiGroup.make("health")
  .add(HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Healthy))
  .add(HttpApiEndpoint.get("readyz", "/readyz").addSuccess(Ready).addError(NotReady))
  .annotate(OpenApi.Description, "Process liveness and readiness for load balancers and orchestrators.")
{}
