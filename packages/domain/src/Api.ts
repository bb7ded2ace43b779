import { HttpApi, OpenApi } from "@effect/platform"
import { AmplitudeConnectionApi } from "./AmplitudeApi.js"
import { AuditApi } from "./AuditApi.js"
import { BetsApi } from "./BetsApi.js"
import { AnyEndpointError } from "./Errors.js"
import { HealthApi } from "./HealthApi.js"
import { MetricsApi } from "./MetricsApi.js"
import { OutcomesApi } from "./OutcomesApi.js"
import { TestsApi } from "./TestsApi.js"
import { WorkspacesApi } from "./WorkspacesApi.js"

export class FindryApi extends HttpApi.make("findry")
  .add(HealthApi)
  .add(WorkspacesApi)
  .add(AmplitudeConnectionApi)
  .add(AuditApi)
  .add(MetricsApi)
  .add(OutcomesApi)
  .add(BetsApi)
  .add(TestsApi)
  .addError(AnyEndpointError)
  .annotate(OpenApi.Title, "Findry × Amplitude integration API")
  .annotate(OpenApi.Version, "1")
{}
