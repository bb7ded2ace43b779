import { assert, describe, layer } from "@effect/vitest"
import { UserId, type WorkspaceId } from "@findry/domain"
import { Effect, Layer, Option } from "effect"
import { IntegrationsRepo } from "../src/IntegrationsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { ADMIN, connection, management, seedWorkspace } from "./fixtures.js"

const PROVIDER = "amplitude"
const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Uint8Array | null) => value === null ? null : new TextDecoder().decode(value)

const found = (workspaceId: WorkspaceId) =>
  Effect.map(Effect.flatMap(IntegrationsRepo, (repo) => repo.find(workspaceId, PROVIDER)), Option.getOrThrow)

describe("IntegrationsRepo", () => {
  layer(Layer.mergeAll(IntegrationsRepo.Default, WorkspacesRepo.Default).pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("keeps one row per workspace and provider: a second save replaces the keys of that workspace only", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const first = yield* repo.saveConnected(connection(a.workspaceId, "a1"))
        yield* repo.saveConnected(connection(b.workspaceId, "b1"))
        const second = yield* repo.saveConnected(connection(a.workspaceId, "a2"))
        assert.strictEqual(second.id, first.id, "the same row")
        assert.strictEqual(text(second.credential1), "a2-api")
        assert.strictEqual(second.projectFingerprint, "fp-a2")
        assert.deepStrictEqual(second.connectedAt, first.connectedAt, "still connected since the first save")
        const other = yield* found(b.workspaceId)
        assert.strictEqual(text(other.credential1), "b1-api")
        assert.strictEqual(other.projectFingerprint, "fp-b1")
        assert.isTrue(Option.isNone(yield* repo.find(a.workspaceId, "another-provider")))
      }))

    it.effect("keeps the management key only across a re-key that says so", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const { workspaceId } = yield* seedWorkspace
        yield* repo.saveConnected(connection(workspaceId, "k1"))
        const withKey = Option.getOrThrow(yield* repo.setCredential3(workspaceId, PROVIDER, management("k1")))
        assert.strictEqual(text(withKey.credential3), "k1-management")
        assert.isTrue(withKey.settings.capabilities.experiments)
        const kept = yield* repo.saveConnected(connection(workspaceId, "k2", { keepCredential3: true }))
        assert.strictEqual(text(kept.credential3), "k1-management")
        assert.strictEqual(kept.credential3Prefix, "k1-m")
        const dropped = yield* repo.saveConnected(connection(workspaceId, "k3"))
        assert.isNull(dropped.credential3)
        assert.isNull(dropped.credential3Prefix)
      }))

    it.effect("disconnect destroys every credential of that workspace only; updates then find nothing", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        yield* repo.saveConnected(connection(a.workspaceId, "d1"))
        yield* repo.saveConnected(connection(b.workspaceId, "d2"))
        yield* repo.setCredential3(a.workspaceId, PROVIDER, management("d1"))
        const gone = Option.getOrThrow(yield* repo.disconnect(a.workspaceId, PROVIDER))
        assert.strictEqual(gone.status, "disconnected")
        assert.deepStrictEqual(
          [gone.credential1, gone.credential2, gone.credential3, gone.credential1Prefix, gone.credential3Prefix],
          [null, null, null, null, null]
        )
        assert.isUndefined(gone.connectedCredentials)
        assert.isTrue(Option.isNone(yield* repo.disconnect(a.workspaceId, PROVIDER)), "already disconnected")
        assert.isTrue(Option.isNone(yield* repo.setAnnotationsEnabled(a.workspaceId, PROVIDER, false)))
        assert.isTrue(Option.isNone(yield* repo.setCredential3(a.workspaceId, PROVIDER, management("late"))))
        const other = yield* found(b.workspaceId)
        assert.strictEqual(other.status, "connected")
        assert.strictEqual(text(other.credential2), "d2-secret")
        const again = yield* repo.saveConnected(connection(a.workspaceId, "d3"))
        assert.strictEqual(again.status, "connected")
        assert.isNull(again.disconnectedAt)
      }))

    it.effect("changes settings key by key: concurrent writers keep each other's fields", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        yield* repo.saveConnected(connection(a.workspaceId, "s1", {
          settings: { ...connection(a.workspaceId, "s1").settings, appId: 42, annotationCategoryId: 7 }
        }))
        yield* repo.saveConnected(connection(b.workspaceId, "s2"))
        yield* Effect.all([
          repo.setAnnotationsEnabled(a.workspaceId, PROVIDER, false),
          repo.setCredential3(a.workspaceId, PROVIDER, management("s1"))
        ], { concurrency: "unbounded" })
        const settings = (yield* found(a.workspaceId)).settings
        assert.isFalse(settings.annotationsEnabled)
        assert.isTrue(settings.capabilities.experiments)
        assert.isFalse(settings.capabilities.taxonomy)
        assert.strictEqual(settings.appId, 42)
        assert.strictEqual(settings.annotationCategoryId, 7)
        assert.isTrue((yield* found(b.workspaceId)).settings.annotationsEnabled, "the other workspace's toggle")
      }))

    it.effect("answers a member with the role and the row, a non-member with nothing", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const workspaces = yield* WorkspacesRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        yield* repo.saveConnected(connection(a.workspaceId, "m1"))
        const member = UserId.make("member-of-b")
        yield* workspaces.setRole(b.workspaceId, member, "member")
        const admin = Option.getOrThrow(yield* repo.findForMember(a.workspaceId, ADMIN, PROVIDER))
        assert.strictEqual(admin.role, "admin")
        assert.strictEqual(Option.getOrThrow(admin.integration).projectFingerprint, "fp-m1")
        assert.isTrue(Option.isNone(yield* repo.findForMember(a.workspaceId, member, PROVIDER)), "b's member in a")
        const unconnected = Option.getOrThrow(yield* repo.findForMember(b.workspaceId, member, PROVIDER))
        assert.strictEqual(unconnected.role, "member")
        assert.isTrue(Option.isNone(unconnected.integration))
      }))

    it.effect("pages through every stored credential in a stable order, each exactly once", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const before = yield* repo.sealedCredentials({ afterId: null, limit: 10_000 })
        for (let n = 0; n < 4; n++) {
          const { workspaceId } = yield* seedWorkspace
          yield* repo.saveConnected(connection(workspaceId, `p${n}`))
          if (n % 2 === 0) yield* repo.setCredential3(workspaceId, PROVIDER, management(`p${n}`))
        }
        const all = yield* repo.sealedCredentials({ afterId: null, limit: 10_000 })
        assert.strictEqual(all.length, before.length + 10, "4 × 2 keys + 2 management keys")
        const paged: Array<string> = []
        let cursor: string | null = null
        for (;;) {
          const page: ReadonlyArray<{ readonly id: string }> = yield* repo.sealedCredentials({
            afterId: cursor,
            limit: 3
          })
          assert.isAtMost(page.length, 3)
          if (page.length === 0) break
          paged.push(...page.map((row) => row.id))
          cursor = page[page.length - 1]!.id
        }
        assert.deepStrictEqual(paged, all.map((row) => row.id))
        assert.strictEqual(new Set(paged).size, paged.length)
      }))

    it.effect("replaces a credential only while it still holds the expected bytes", () =>
      Effect.gen(function*() {
        const repo = yield* IntegrationsRepo
        const { workspaceId } = yield* seedWorkspace
        const row = yield* repo.saveConnected(connection(workspaceId, "r1"))
        assert.isTrue(yield* repo.replaceCredential(`${row.id}:2`, bytes("r1-secret"), bytes("r1-resealed")))
        assert.isFalse(yield* repo.replaceCredential(`${row.id}:2`, bytes("r1-secret"), bytes("r1-again")))
        assert.isFalse(yield* repo.replaceCredential(`${row.id}:3`, bytes("r1-secret"), bytes("x")), "empty slot")
        assert.isFalse(yield* repo.replaceCredential(`${row.id}:9`, bytes("r1-api"), bytes("x")), "no such slot")
        const stored = yield* found(workspaceId)
        assert.strictEqual(text(stored.credential2), "r1-resealed")
        assert.strictEqual(text(stored.credential1), "r1-api")
      }))
  })
})
