import { assert, describe, layer } from "@effect/vitest"
import { WorkspaceId } from "@findry/domain"
import { Effect, Redacted } from "effect"
import { issueToken } from "../src/auth/Jwt.js"
import { clientAs, clientWithToken, workspaceOf } from "./support/Client.js"
import { call } from "./support/Http.js"
import { ApiTestLive, freshUser, TEST_AUTH_SECRET } from "./support/TestApi.js"

describe("workspaces, members and projects", () => {
  layer(ApiTestLive(), { timeout: "90 seconds", excludeTestServices: true })((it) => {
    it.effect("creating a workspace makes the caller its admin", () =>
      Effect.gen(function*() {
        const admin = yield* clientAs(freshUser("admin"))
        const created = yield* admin.workspaces.create({ payload: { name: "Acme" } })
        assert.strictEqual(created.name, "Acme")
        assert.strictEqual(created.role, "admin")
        const read = yield* admin.workspaces.get({ path: { workspaceId: created.id } })
        assert.deepStrictEqual(read, created)
      }))

    it.effect("trims the name it is given (sent raw: the typed client only sends trimmed names)", () =>
      Effect.gen(function*() {
        const created = yield* call("POST", "/v1/workspaces", { user: freshUser("admin"), body: { name: "  Acme  " } })
        assert.strictEqual(created.status, 201)
        assert.strictEqual(created.body.name, "Acme")
      }))

    it.effect("rejects missing, malformed, badly signed and expired tokens with 401 Unauthorized", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const workspaceId = yield* workspaceOf(admin)
        const forged = issueToken(TEST_AUTH_SECRET, { sub: admin, ttlSeconds: 60 }).slice(0, -4) + "AAAA"
        const expired = issueToken(TEST_AUTH_SECRET, { sub: admin, ttlSeconds: 60, now: Date.now() - 3_600_000 })
        const otherSecret = issueToken(Redacted.make("another-secret-that-is-long-enough-0000"), {
          sub: admin,
          ttlSeconds: 60
        })
        for (const token of [undefined, "not-a-jwt", forged, expired, otherSecret]) {
          const client = yield* (token === undefined ? clientAs(null) : clientWithToken(token))
          const error = yield* Effect.flip(client.workspaces.get({ path: { workspaceId } }))
          assert.strictEqual(error._tag, "Unauthorized", String(token))
          assert.isString(error.message)
        }
      }))

    it.effect("hides a workspace from outsiders (404) and keeps admin actions from members (403)", () =>
      Effect.gen(function*() {
        const adminId = freshUser("admin")
        const memberId = freshUser("member")
        const outsiderId = freshUser("outsider")
        const [admin, member, outsider] = yield* Effect.all([
          clientAs(adminId),
          clientAs(memberId),
          clientAs(outsiderId)
        ])
        const workspaceId = yield* workspaceOf(adminId)
        const added = yield* admin.workspaces.setMember({
          path: { workspaceId, userId: memberId },
          payload: { role: "member" }
        })
        assert.deepStrictEqual({ ...added }, { userId: memberId, role: "member" })

        const outsiderRead = yield* Effect.flip(outsider.workspaces.get({ path: { workspaceId } }))
        assert.strictEqual(outsiderRead._tag, "NotFound")
        const unknown = yield* Effect.flip(admin.workspaces.get({
          path: { workspaceId: WorkspaceId.make("00000000-0000-4000-8000-000000000000") }
        }))
        assert.strictEqual(unknown._tag, "NotFound")

        const memberRead = yield* member.workspaces.get({ path: { workspaceId } })
        assert.strictEqual(memberRead.role, "member")
        const adminActions = [
          [
            "setMember",
            (client: typeof admin) =>
              client.workspaces.setMember({ path: { workspaceId, userId: outsiderId }, payload: { role: "member" } })
          ],
          [
            "removeMember",
            (client: typeof admin) => client.workspaces.removeMember({ path: { workspaceId, userId: adminId } })
          ],
          [
            "createProject",
            (client: typeof admin) =>
              client.workspaces.createProject({ path: { workspaceId }, payload: { name: "Growth" } })
          ]
        ] as const
        for (const [name, action] of adminActions) {
          const asMember = yield* Effect.flip(action(member))
          assert.strictEqual(asMember._tag, "Forbidden", name)
          const asOutsider = yield* Effect.flip(action(outsider))
          assert.strictEqual(asOutsider._tag, "NotFound", name)
        }
      }))

    it.effect("lists projects to members and lets only admins create them", () =>
      Effect.gen(function*() {
        const adminId = freshUser("admin")
        const memberId = freshUser("member")
        const [admin, member] = yield* Effect.all([clientAs(adminId), clientAs(memberId)])
        const workspaceId = yield* workspaceOf(adminId)
        yield* admin.workspaces.setMember({ path: { workspaceId, userId: memberId }, payload: { role: "member" } })
        const created = yield* admin.workspaces.createProject({ path: { workspaceId }, payload: { name: "Growth" } })
        const listed = yield* member.workspaces.listProjects({ path: { workspaceId } })
        assert.deepStrictEqual(listed.projects.map((project) => ({ ...project })), [{ id: created.id, name: "Growth" }])
      }))

    it.effect("never leaves a workspace without an admin", () =>
      Effect.gen(function*() {
        const adminId = freshUser("admin")
        const otherId = freshUser("other")
        const [admin, other] = yield* Effect.all([clientAs(adminId), clientAs(otherId)])
        const workspaceId = yield* workspaceOf(adminId)
        const demote = yield* Effect.flip(admin.workspaces.setMember({
          path: { workspaceId, userId: adminId },
          payload: { role: "member" }
        }))
        assert.strictEqual(demote._tag, "LastAdmin")
        const leave = yield* Effect.flip(admin.workspaces.removeMember({ path: { workspaceId, userId: adminId } }))
        assert.strictEqual(leave._tag, "LastAdmin")

        yield* admin.workspaces.setMember({ path: { workspaceId, userId: otherId }, payload: { role: "admin" } })
        // 204: the contract's only success status for it.
        yield* other.workspaces.removeMember({ path: { workspaceId, userId: adminId } })
        const gone = yield* Effect.flip(admin.workspaces.get({ path: { workspaceId } }))
        assert.strictEqual(gone._tag, "NotFound")
        const missing = yield* Effect.flip(other.workspaces.removeMember({ path: { workspaceId, userId: adminId } }))
        assert.strictEqual(missing._tag, "NotFound")
      }))

    // Malformed requests the typed client refuses to send: sent raw.
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
