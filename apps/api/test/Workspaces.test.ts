import { assert, describe, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { issueToken } from "../src/Jwt.js"
import { call, workspaceOf } from "./support/Http.js"
import { ApiTestLive, freshUser, TEST_AUTH_SECRET } from "./support/TestApi.js"

describe("workspaces, members and projects", () => {
  layer(ApiTestLive(), { timeout: "90 seconds", excludeTestServices: true })((it) => {
    it.effect("creating a workspace makes the caller its admin", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const created = yield* call("POST", "/v1/workspaces", { user: admin, body: { name: "  Acme  " } })
        assert.strictEqual(created.status, 201)
        assert.strictEqual(created.body.name, "Acme")
        assert.strictEqual(created.body.role, "admin")
        const read = yield* call("GET", `/v1/workspaces/${created.body.id}`, { user: admin })
        assert.deepStrictEqual(read.body, created.body)
      }))

    it.effect("rejects missing, malformed, badly signed and expired tokens with 401 Unauthorized", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const id = yield* workspaceOf(admin)
        const path = `/v1/workspaces/${id}`
        const forged = issueToken(TEST_AUTH_SECRET, { sub: admin, ttlSeconds: 60 }).slice(0, -4) + "AAAA"
        const expired = issueToken(TEST_AUTH_SECRET, { sub: admin, ttlSeconds: 60, now: Date.now() - 3_600_000 })
        const otherSecret = issueToken(Redacted.make("another-secret-that-is-long-enough-0000"), {
          sub: admin,
          ttlSeconds: 60
        })
        for (const token of [undefined, "not-a-jwt", forged, expired, otherSecret]) {
          const answer = yield* call("GET", path, token === undefined ? { user: null } : { user: null, token })
          assert.strictEqual(answer.status, 401, String(token))
          assert.strictEqual(answer.body._tag, "Unauthorized")
          assert.isString(answer.body.message)
        }
      }))

    it.effect("hides a workspace from outsiders (404) and keeps admin actions from members (403)", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const member = freshUser("member")
        const outsider = freshUser("outsider")
        const id = yield* workspaceOf(admin)
        const added = yield* call("PUT", `/v1/workspaces/${id}/members/${member}`, {
          user: admin,
          body: { role: "member" }
        })
        assert.deepStrictEqual(added.body, { userId: member, role: "member" })

        const outsiderRead = yield* call("GET", `/v1/workspaces/${id}`, { user: outsider })
        assert.strictEqual(outsiderRead.status, 404)
        assert.strictEqual(outsiderRead.body._tag, "NotFound")
        const unknown = yield* call("GET", `/v1/workspaces/00000000-0000-4000-8000-000000000000`, { user: admin })
        assert.deepStrictEqual([unknown.status, unknown.body._tag], [404, "NotFound"])

        const memberRead = yield* call("GET", `/v1/workspaces/${id}`, { user: member })
        assert.strictEqual(memberRead.body.role, "member")
        for (
          const [method, path, body] of [
            ["PUT", `/v1/workspaces/${id}/members/${outsider}`, { role: "member" }],
            ["DELETE", `/v1/workspaces/${id}/members/${admin}`, undefined],
            ["POST", `/v1/workspaces/${id}/projects`, { name: "Growth" }]
          ] as const
        ) {
          const answer = yield* call(method, path, { user: member, body })
          assert.deepStrictEqual([answer.status, answer.body._tag], [403, "Forbidden"], `${method} ${path}`)
          const asOutsider = yield* call(method, path, { user: outsider, body })
          assert.deepStrictEqual([asOutsider.status, asOutsider.body._tag], [404, "NotFound"], `${method} ${path}`)
        }
      }))

    it.effect("lists projects to members and lets only admins create them", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const member = freshUser("member")
        const id = yield* workspaceOf(admin)
        yield* call("PUT", `/v1/workspaces/${id}/members/${member}`, { user: admin, body: { role: "member" } })
        const created = yield* call("POST", `/v1/workspaces/${id}/projects`, { user: admin, body: { name: "Growth" } })
        assert.strictEqual(created.status, 201)
        const listed = yield* call("GET", `/v1/workspaces/${id}/projects`, { user: member })
        assert.deepStrictEqual(listed.body, { projects: [{ id: created.body.id, name: "Growth" }] })
      }))

    it.effect("never leaves a workspace without an admin", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const other = freshUser("other")
        const id = yield* workspaceOf(admin)
        const demote = yield* call("PUT", `/v1/workspaces/${id}/members/${admin}`, {
          user: admin,
          body: { role: "member" }
        })
        assert.deepStrictEqual([demote.status, demote.body._tag], [409, "LastAdmin"])
        const leave = yield* call("DELETE", `/v1/workspaces/${id}/members/${admin}`, { user: admin })
        assert.deepStrictEqual([leave.status, leave.body._tag], [409, "LastAdmin"])

        yield* call("PUT", `/v1/workspaces/${id}/members/${other}`, { user: admin, body: { role: "admin" } })
        const removed = yield* call("DELETE", `/v1/workspaces/${id}/members/${admin}`, { user: other })
        assert.strictEqual(removed.status, 204)
        const gone = yield* call("GET", `/v1/workspaces/${id}`, { user: admin })
        assert.strictEqual(gone.status, 404)
        const missing = yield* call("DELETE", `/v1/workspaces/${id}/members/${admin}`, { user: other })
        assert.deepStrictEqual([missing.status, missing.body._tag], [404, "NotFound"])
      }))

    it.effect("rejects bad input with 400 and changes nothing", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        for (
          const body of [{}, { name: "" }, { name: "   " }, { name: "x".repeat(201) }, { name: "a\u0000b" }, {
            name: 7
          }]
        ) {
          const answer = yield* call("POST", "/v1/workspaces", { user: admin, body })
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
          // Text PostgreSQL cannot store is refused before decoding, naming the field.
          assert.strictEqual(answer.body._tag, body.name === "a\u0000b" ? "ValidationError" : "HttpApiDecodeError")
        }
        const badId = yield* call("GET", "/v1/workspaces/not-a-uuid", { user: admin })
        assert.strictEqual(badId.status, 400)
        const id = yield* workspaceOf(admin)
        const badRole = yield* call("PUT", `/v1/workspaces/${id}/members/x`, { user: admin, body: { role: "owner" } })
        assert.strictEqual(badRole.status, 400)
      }))
  })
})
