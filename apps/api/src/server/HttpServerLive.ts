import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Layer } from "effect"
import { AmplitudeConnectionHttpLive } from "../amplitude-connection/AmplitudeConnectionHttp.js"
import { ConnectionViewCache } from "../amplitude-connection/ConnectionViewCache.js"
import { AuthenticationLive } from "../auth/Authentication.js"
import { BetsHttpLive } from "../bets/BetsHttp.js"
import { TestsHttpLive } from "../experiment-tests/TestsHttp.js"
import { HealthHttpLive } from "../health/HealthHttp.js"
import { MetricsHttpLive } from "../metrics/MetricsHttp.js"
import { OutcomesHttpLive } from "../outcomes/OutcomesHttp.js"
import { AuditHttpLive } from "../workspaces/AuditHttp.js"
import { WorkspacesHttpLive } from "../workspaces/WorkspacesHttp.js"
import { accessLog } from "./AccessLog.js"
import { bodyLimit } from "./BodyLimit.js"
import { ErrorBoundaryLive } from "./ErrorBoundary.js"
import { RequestDeadlineLive } from "./RequestDeadline.js"
import { serverSpan } from "./ServerSpan.js"
import { StorableTextLive } from "./StorableText.js"
import { WebAppLive } from "./WebApp.js"

export const ApiLive = Layer.provide(HttpApiBuilder.api(FindryApi), [
  HealthHttpLive,
  WorkspacesHttpLive,
  AmplitudeConnectionHttpLive,
  AuditHttpLive,
  BetsHttpLive,
  MetricsHttpLive,
  OutcomesHttpLive,
  TestsHttpLive,
  ErrorBoundaryLive,
  RequestDeadlineLive,
  StorableTextLive
]).pipe(Layer.provide([AuthenticationLive, ConnectionViewCache.Default]))

/**
 * The HTTP API with its docs and the web app at `/app/`. Needs an `HttpServer`, `ApiConfig`, `SqlClient`, the crypto services, the
 * Amplitude adapter's `AmplitudeClient` (with an `HttpClient` and `AmplitudeConfig`), `AnnotationsConfig` and a
 * `WorkflowEngine` (the in-process runner, or a client-only node of the scheduler's cluster).
 */
export const HttpApiLive = HttpApiBuilder.serve((app) => serverSpan(accessLog(bodyLimit(app)))).pipe(
  HttpMiddleware.withTracerDisabledWhen(() => true),
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(WebAppLive),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)
