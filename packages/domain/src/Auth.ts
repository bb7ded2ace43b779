import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context } from "effect"
import { Unauthorized } from "./Errors.js"
import type { UserId } from "./Ids.js"

/** The user behind the request's bearer token. */
export class CurrentUser extends Context.Tag("@findry/domain/CurrentUser")<CurrentUser, {
  readonly userId: UserId
}>() {}

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("@findry/domain/Authentication", {
  failure: Unauthorized,
  provides: CurrentUser,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
