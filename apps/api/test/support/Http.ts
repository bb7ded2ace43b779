import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { tokenFor } from "./TestApi.js"

export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: any
  readonly text: string
}

import { receivedBodies, receivedHeaders } from "./Received.js"

export { receivedBodies, receivedHeaders } from "./Received.js"

/** Sends a JSON request to the test server as `user` (no token when `user` is null) and reads the answer. */
export const call = (
  method: "GET" | "PUT" | "POST" | "PATCH" | "DELETE",
  path: string,
  options: { readonly user: string | null; readonly body?: unknown; readonly token?: string } = { user: null }
) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    let request = HttpClientRequest.make(method)(path)
    const token = options.token ?? (options.user === null ? undefined : tokenFor(options.user))
    if (token !== undefined) request = HttpClientRequest.bearerToken(request, token)
    if (options.body !== undefined) request = yield* HttpClientRequest.bodyJson(request, options.body)
    const response = yield* client.execute(request)
    const text = yield* response.text
    receivedBodies.push(text)
    receivedHeaders.push(JSON.stringify(response.headers))
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: text === "" ? undefined : JSON.parse(text)
    } satisfies Answer
  }).pipe(Effect.scoped, Effect.orDie)
