import { HttpApi, OpenApi } from "@effect/platform"
import { InternalError } from "./Errors.js"
import { HealthApi } from "./HealthApi.js"

export class FindryApi extends HttpApi.make("findry")
  .add(HealthApi)
  .addError(InternalError)
  .annotate(OpenApi.Title, "Findry × Amplitude integration API")
  .annotate(OpenApi.Version, "1")
{}
