import { NodeClusterSocket } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it, layer } from "@effect/vitest"
import { testKeyring } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { clusterSharding } from "@findry/annotations"
import { SecretSealer } from "@findry/crypto"
import type { WorkspaceId } from "@findry/domain"
import { UserId } from "@findry/domain"
import { IntegrationsRepo, TestsRepo, WorkspacesRepo } from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { verifyToken } from "../src/auth/Jwt.js"
import { progressReporter, renderProgressBar, renderProgressLine } from "../src/cli/Output.js"
import {
  cliEnv,
  emulatorEnv,
  emulatorProject,
  runCli,
  SealerLive,
  seedBet,
  seedSweepRun,
  seedSyncedWorkspace,
  seedSyncRun
} from "./support/Cli.js"

const onPostgres = process.env.TEST_DATABASE_URL !== undefined
const SLOW = { timeout: 120_000 }
const AUTH_SECRET = "cli-test-secret-".padEnd(40, "x")

const lines = (text: string) => text.trim().split("\n").filter((line) => line.length > 0)

// The processes below need no database but take seconds each: they run once, in the PostgreSQL pass.
describe.skipIf(!onPostgres)("findry: help and the command line", () => {
  it.live("--help lists every command and exits 0; every command has its own help", () =>
    Effect.gen(function*() {
      const root = yield* runCli(["--help"], {})
      assert.strictEqual(root.code, 0, root.stderr)
      for (
        const command of ["token", "rotate-keys", "jobs status", "annotations list", "annotations retry", "sync run"]
      ) {
        assert.include(root.stdout, `- ${command}`)
      }
      assert.notInclude(root.stdout, "\u001b[", "no colour escapes when piped")
      const results = yield* Effect.forEach(
        [["jobs", "status"], ["annotations", "list"], ["annotations", "retry"], ["sync", "run"], ["token"], [
          "rotate-keys"
        ]],
        (args) => Effect.map(runCli([...args, "--help"], {}), (result) => ({ args, result })),
        { concurrency: 3 }
      )
      for (const { args, result } of results) {
        assert.strictEqual(result.code, 0, `${args.join(" ")}: ${result.stderr}`)
        assert.include(result.stdout, "--json", args.join(" "))
      }
    }), SLOW)

  it.live("a usage error exits 2 without doing anything, with the problem on stderr", () =>
    Effect.gen(function*() {
      const workspace = randomUUID()
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [[], /name a command/],
        [["frobnicate"], /Invalid subcommand/],
        [["jobs"], /name a subcommand: jobs status/],
        [["annotations", "list"], /--workspace/],
        [["annotations", "list", "--workspace", "not-a-uuid"], /--workspace must be a workspace id/],
        [["annotations", "list", "--workspace", workspace, "--status", "lost"], /pending, pushed, skipped, failed/],
        [["annotations", "list", "--workspace", workspace, "--limit", "0"], /--limit must be/],
        [["annotations", "retry"], /--workspace/],
        [["annotations", "retry", "--workspace", workspace, "--bet", "not-a-uuid"], /--bet must be a bet id/],
        [["sync", "run"], /exactly one of --workspace <id> and --all/],
        [["token"], /Missing argument <userId>/],
        [["token", "bob", "0"], /hours must be a number greater than 0/],
        [["rotate-keys", "0"], /batchSize must be/]
      ]
      // A database that does not exist: a command that went past its usage check would fail with exit 1.
      const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", FINDRY_AUTH_SECRET: AUTH_SECRET }
      const results = yield* Effect.forEach(
        cases,
        ([args, message]) => Effect.map(runCli(args, env), (result) => ({ args, message, result })),
        { concurrency: 3 }
      )
      for (const { args, message, result } of results) {
        assert.strictEqual(result.code, 2, `findry ${args.join(" ")}: ${result.stderr}`)
        assert.match(result.stderr, message, `findry ${args.join(" ")}`)
        assert.strictEqual(result.stdout, "", `findry ${args.join(" ")}`)
      }
    }), SLOW)

  it.live("a missing or malformed variable exits 3 naming it, never printing its value", () =>
    Effect.gen(function*() {
      const malformed = yield* runCli(["jobs", "status"], { DATABASE_URL: "postgres://u:s3cret-pw@[::1" })
      assert.strictEqual(malformed.code, 3, malformed.stderr)
      assert.match(malformed.stderr, /^Configuration error: DATABASE_URL is invalid/)
      assert.notInclude(malformed.stderr + malformed.stdout, "s3cret-pw")

      const shortSecret = yield* runCli(["token", "bob"], { FINDRY_AUTH_SECRET: "short-s3cret" })
      assert.strictEqual(shortSecret.code, 3, shortSecret.stderr)
      assert.match(shortSecret.stderr, /FINDRY_AUTH_SECRET is invalid/)
      assert.notInclude(shortSecret.stderr + shortSecret.stdout, "short-s3cret")

      const noDatabase = yield* runCli(["sync", "run", "--all"], {})
      assert.strictEqual(noDatabase.code, 3, noDatabase.stderr)
      assert.match(noDatabase.stderr, /DATABASE_URL is not set/)
    }), SLOW)

  it.live("a database it cannot reach is a failure: exit 1, without the URL's password", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["jobs", "status", "--json"], {
        DATABASE_URL: "postgres://cli:pa55-s3cret@127.0.0.1:1/none"
      })
      assert.strictEqual(result.code, 1, result.stderr)
      assert.match(result.stderr, /^Database error: .*DATABASE_URL/)
      assert.notInclude(result.stderr, "pa55-s3cret")
      assert.strictEqual(result.stdout, "")
    }), SLOW)

  it.live(
    "token prints a bearer token for the user, valid for the hours asked (text and --json)",
    () =>
      Effect.gen(function*() {
        const text = yield* runCli(["token", "alice@example.com", "2"], { FINDRY_AUTH_SECRET: AUTH_SECRET })
        assert.strictEqual(text.code, 0, text.stderr)
        const verified = verifyToken(Redacted.make(AUTH_SECRET), text.stdout.trim(), Date.now())
        assert.strictEqual(verified?.subject, "alice@example.com")
        const hoursLeft = (verified!.expiresAtMillis - Date.now()) / 3_600_000
        assert.isTrue(hoursLeft > 1.9 && hoursLeft <= 2, `${hoursLeft}`)

        const json = yield* runCli(["token", "bob", "--json"], { FINDRY_AUTH_SECRET: AUTH_SECRET })
        assert.strictEqual(json.code, 0, json.stderr)
        const parsed = JSON.parse(json.stdout)
        assert.strictEqual(parsed.userId, "bob")
        assert.strictEqual(parsed.expiresInSeconds, 12 * 3600)
        assert.strictEqual(verifyToken(Redacted.make(AUTH_SECRET), parsed.token, Date.now())?.subject, "bob")
      }),
    SLOW
  )
})

describe("findry: sync progress rendering", () => {
  it("draws a bar of the finished share on a terminal", () => {
    assert.strictEqual(
      renderProgressBar({ done: 3, total: 6, failed: 1 }, 10),
      "[#####-----] 3/6 workspaces synced, 1 failed"
    )
    assert.strictEqual(renderProgressBar({ done: 0, total: 4, failed: 0 }, 4), "[----] 0/4 workspaces synced")
    assert.strictEqual(renderProgressBar({ done: 0, total: 0, failed: 0 }, 4), "[####] 0/0 workspaces synced")
    assert.strictEqual(renderProgressLine({ done: 2, total: 5, failed: 0 }), "2/5 workspaces synced")
  })

  it.effect("redraws the bar in place on a terminal and prints a line per change otherwise", () =>
    Effect.gen(function*() {
      const steps = [
        { done: 0, total: 2, failed: 0 },
        { done: 0, total: 2, failed: 0 },
        { done: 1, total: 2, failed: 1 },
        { done: 2, total: 2, failed: 1 }
      ]
      const show = (isTTY: boolean) =>
        Effect.gen(function*() {
          let written = ""
          const reporter = progressReporter({ isTTY, write: (text) => (written += text) })
          for (const step of steps) yield* reporter.update(step)
          yield* reporter.finish
          return written
        })
      const terminal = yield* show(true)
      assert.strictEqual(terminal.split("\r").length - 1, 3, "one redraw per change")
      assert.isTrue(terminal.endsWith(`${renderProgressBar(steps[3]!)}\n`))
      assert.notInclude(terminal.slice(0, -1), "\n")
      const piped = yield* show(false)
      assert.strictEqual(
        piped,
        "0/2 workspaces synced\n1/2 workspaces synced, 1 failed\n2/2 workspaces synced, 1 failed\n"
      )
    }))
})

/** Creates the cluster's tables the way a node of the cluster does when it starts. */
const createClusterTables = Effect.scoped(
  Layer.build(NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: clusterSharding }))
)

/** Milliseconds between the Unix epoch and the cluster's snowflake epoch. */
const SNOWFLAKE_EPOCH = 1735689600000

describe.skipIf(!onPostgres)("findry jobs status and annotations list", () => {
  layer(TestSqlLive(), { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect(
      "jobs status reports the push backlog, runners, last sweep and last sync night (text and --json)",
      () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const a = yield* seedBet("Alpha", [
            { kind: "promoted", status: "pushed" },
            { kind: "shipped", status: "pending" },
            { kind: "verdict", status: "failed", reason: "Amplitude rejected the keys", attempts: 8 }
          ])
          const b = yield* seedBet("Beta", [{ kind: "promoted", status: "pending" }])
          yield* seedSweepRun(a, { minutesAgo: 180, measured: false, warning: "an older sweep" })
          yield* seedSweepRun(a, { minutesAgo: 0, measured: true })
          yield* seedSweepRun(b, { minutesAgo: 0, measured: false, warning: "Amplitude not connected" })
          yield* seedSyncRun(a.workspaceId, "2026-11-30", { status: "failed", reason: "Old", message: "old night" })
          yield* seedSyncRun(a.workspaceId, "2026-12-01", { status: "succeeded" })
          yield* seedSyncRun(b.workspaceId, "2026-12-01", {
            status: "failed",
            reason: "InvalidCredentials",
            message: "Amplitude rejected the Management API key."
          })
          yield* createClusterTables
          const fiveMinutesAgo = BigInt(Date.now() - 300_000 - SNOWFLAKE_EPOCH) << 22n
          yield* sql`
          INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, request_id)
          VALUES (${String(fiveMinutesAgo)}::bigint, 'cli-test', 'default:1', 'Workflow/PushAnnotation', 'x', 0, 'run',
                  '{}', ${String(fiveMinutesAgo)}::bigint)`
          yield* sql`
          INSERT INTO cluster_runners (address, runner, healthy, last_heartbeat)
          VALUES ('10.9.9.9:1', '{}', true, now()::timestamp - interval '1 hour')`
          const env = yield* cliEnv()

          const json = yield* runCli(["jobs", "status", "--json"], env)
          assert.strictEqual(json.code, 0, json.stderr)
          const status = JSON.parse(json.stdout)
          assert.deepInclude(status.annotationPush, { pending: 2, failed: 1, due: 1 })
          assert.isTrue(
            status.annotationPush.oldestDueSeconds >= 295 && status.annotationPush.oldestDueSeconds < 400,
            String(status.annotationPush.oldestDueSeconds)
          )
          assert.strictEqual(status.runners.alive, 0)
          assert.deepInclude(status.runners.all[0], { address: "10.9.9.9:1", healthy: true, alive: false })
          assert.deepInclude(status.outcomeSweep, { measured: 2, verdicts: 1, notMeasured: 1 })
          assert.deepStrictEqual(status.outcomeSweep.failures, [
            { betId: b.betId, workspaceId: b.workspaceId, warning: "Amplitude not connected" }
          ])
          assert.deepInclude(status.experimentSync, {
            date: "2026-12-01",
            workspaces: 2,
            succeeded: 1,
            failed: 1,
            skipped: 0,
            running: 0
          })
          assert.deepStrictEqual(status.experimentSync.failures, [{
            workspaceId: b.workspaceId,
            reason: "InvalidCredentials",
            message: "Amplitude rejected the Management API key."
          }])

          const text = yield* runCli(["jobs", "status"], env)
          assert.strictEqual(text.code, 0, text.stderr)
          assert.include(text.stdout, "pending 2, failed 1, due messages 1, oldest due 5m")
          assert.include(text.stdout, "Runners: 0 alive of 1")
          assert.match(text.stdout, /10\.9\.9\.9:1 {2}silent {2}heartbeat 1h/)
          assert.include(text.stdout, "2 runs, 1 verdicts, 1 not measured")
          assert.include(
            text.stdout,
            `not measured: bet ${b.betId} (workspace ${b.workspaceId}): Amplitude not connected`
          )
          assert.include(text.stdout, "night 2026-12-01, 2 workspaces, 1 succeeded, 1 failed, 0 skipped, 0 running")
          assert.include(
            text.stdout,
            `failed: workspace ${b.workspaceId}: InvalidCredentials (Amplitude rejected the Management API key.)`
          )
          assert.strictEqual(text.stderr, "")
        }),
      SLOW
    )

    it.effect(
      "annotations list shows a workspace's records, newest first, filtered by status (text and --json)",
      () =>
        Effect.gen(function*() {
          const seeded = yield* seedBet("Gamma", [
            { kind: "promoted", status: "pushed" },
            { kind: "shipped", status: "pending" },
            { kind: "verdict", status: "failed", reason: "Amplitude rejected the keys", attempts: 8 }
          ])
          yield* seedBet("Delta", [{ kind: "promoted", status: "failed", reason: "another workspace" }])
          const env = yield* cliEnv()

          const json = yield* runCli(["annotations", "list", "--workspace", seeded.workspaceId, "--json"], env)
          assert.strictEqual(json.code, 0, json.stderr)
          const records = JSON.parse(json.stdout)
          assert.deepStrictEqual(records.map((r: { kind: string }) => r.kind), ["promoted", "shipped", "verdict"])
          assert.deepStrictEqual(records.map((r: { status: string }) => r.status), ["pushed", "pending", "failed"])
          assert.isTrue(records.every((r: { betId: string }) => r.betId === seeded.betId))

          const failed = yield* runCli(
            ["annotations", "list", "--workspace", seeded.workspaceId, "--status", "failed", "--json"],
            env
          )
          assert.strictEqual(failed.code, 0, failed.stderr)
          assert.deepInclude(JSON.parse(failed.stdout)[0], {
            kind: "verdict",
            status: "failed",
            attempts: 8,
            reason: "Amplitude rejected the keys"
          })
          assert.lengthOf(JSON.parse(failed.stdout), 1)

          const text = yield* runCli(
            ["annotations", "list", "--workspace", seeded.workspaceId, "--status", "failed"],
            env
          )
          assert.strictEqual(text.code, 0, text.stderr)
          const [header, row, ...rest] = lines(text.stdout)
          assert.match(header!, /^BET +KIND +STATUS +ATTEMPTS +UPDATED +LABEL +REASON$/)
          assert.match(row!, new RegExp(`^${seeded.betId} +verdict +failed +8 .*Amplitude rejected the keys$`))
          assert.deepStrictEqual(rest, [])

          const none = yield* runCli(
            ["annotations", "list", "--workspace", seeded.workspaceId, "--status", "skipped"],
            env
          )
          assert.strictEqual(none.code, 0, none.stderr)
          assert.strictEqual(none.stdout.trim(), "No annotation records.")

          const unknown = randomUUID()
          const missing = yield* runCli(["annotations", "list", "--workspace", unknown], env)
          assert.strictEqual(missing.code, 1)
          assert.strictEqual(missing.stderr.trim(), `No workspace ${unknown}: check the id.`)
          assert.strictEqual(missing.stdout, "")
        }),
      SLOW
    )
  })
})

const OLD = `old:${Buffer.alloc(32, 5).toString("base64")}`
const NEW = `new:${Buffer.alloc(32, 6).toString("base64")}`
const LOST = `lost:${Buffer.alloc(32, 4).toString("base64")}`

const sealWith = (keyring: string, workspaceId: WorkspaceId, slot: number, value: string) =>
  Effect.flatMap(
    SecretSealer,
    (sealer) => sealer.seal(Redacted.make(value), { workspaceId, provider: "amplitude", slot })
  ).pipe(
    Effect.provide(SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(testKeyring(keyring))))
  )

const connectWith = (keyring: string, name: string) =>
  Effect.gen(function*() {
    const workspace = yield* (yield* WorkspacesRepo).create(name, UserId.make("rotator"))
    yield* (yield* IntegrationsRepo).saveConnected({
      workspaceId: workspace.id,
      provider: "amplitude",
      region: "us",
      credential1: yield* sealWith(keyring, workspace.id, 1, "api-key-value"),
      credential2: yield* sealWith(keyring, workspace.id, 2, "secret-key-value"),
      projectFingerprint: `fp-${name}`,
      displayName: name,
      settings: {
        annotationsEnabled: true,
        capabilities: { taxonomy: true, experiments: false },
        appId: null,
        displayNameByAdmin: false
      },
      keepCredential3: false
    })
    return workspace.id
  })

describe.skipIf(!onPostgres)("findry annotations retry", () => {
  layer(
    Layer.mergeAll(WorkspacesRepo.Default, IntegrationsRepo.Default).pipe(Layer.provideMerge(TestSqlLive())),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect(
      "queues again the failed pushes fresh keys can fix, once, and says when no runner will push them",
      () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const workspaceId = yield* connectWith(OLD, "Retry")
          const seeded = yield* seedBet("Retry", [
            { kind: "promoted", status: "failed", reason: "Amplitude rejected the keys", retryableFor: "fp-Retry" },
            { kind: "shipped", status: "failed", reason: "Amplitude refused the annotation (400)" },
            { kind: "verdict", status: "failed", reason: "Amplitude rejected the keys", retryableFor: "fp-Other" }
          ], { workspaceId })
          const env = yield* cliEnv()

          const first = yield* runCli(["annotations", "retry", "--workspace", workspaceId, "--json"], env)
          assert.strictEqual(first.code, 0, first.stderr)
          assert.deepStrictEqual(JSON.parse(first.stdout), { workspaceId, requeued: 1, runnersAlive: 0 })
          const statuses = yield* sql<{ kind: string; status: string }>`
            SELECT kind, status FROM annotation_records WHERE bet_id = ${seeded.betId} ORDER BY kind`
          assert.deepStrictEqual(statuses.map((row) => [row.kind, row.status]), [
            ["promoted", "pending"],
            ["shipped", "failed"],
            ["verdict", "failed"]
          ])

          const again = yield* runCli(["annotations", "retry", "--workspace", workspaceId, "--bet", seeded.betId], env)
          assert.strictEqual(again.code, 0, again.stderr)
          assert.match(again.stdout, /^Nothing to push again/)

          const unknown = randomUUID()
          const missing = yield* runCli(["annotations", "retry", "--workspace", unknown], env)
          assert.strictEqual(missing.code, 1)
          assert.strictEqual(missing.stderr.trim(), `No workspace ${unknown}: check the id.`)
        }),
      SLOW
    )
  })
})

describe.skipIf(!onPostgres)("findry rotate-keys", () => {
  layer(
    Layer.mergeAll(WorkspacesRepo.Default, IntegrationsRepo.Default).pipe(Layer.provideMerge(TestSqlLive())),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect(
      "re-seals every credential under the newest key, then reports a value it cannot open (exit 1)",
      () =>
        Effect.gen(function*() {
          yield* connectWith(OLD, "One")
          yield* connectWith(OLD, "Two")
          const env = yield* cliEnv({ FINDRY_ENCRYPTION_KEYS: `${NEW},${OLD}` })

          const first = yield* runCli(["rotate-keys", "3"], env)
          assert.strictEqual(first.code, 0, first.stderr)
          const output = lines(first.stdout)
          assert.match(output[0]!, /^scanned 3, re-sealed 3, already current 0, changed meanwhile 0, failed 0$/)
          assert.include(first.stdout, "Done. Current key: new. Values still on older keys: 0")
          assert.include(first.stdout, "older keys can now be removed from FINDRY_ENCRYPTION_KEYS")

          const again = yield* runCli(["rotate-keys", "--json"], env)
          assert.strictEqual(again.code, 0, again.stderr)
          assert.deepInclude(JSON.parse(again.stdout), {
            currentKeyId: "new",
            scanned: 4,
            rewrapped: 0,
            skipped: 4,
            failed: 0,
            remainingOnOldKeys: 0
          })

          yield* connectWith(LOST, "Lost")
          const failing = yield* runCli(["rotate-keys", "--json"], env)
          assert.strictEqual(failing.code, 1, failing.stderr)
          const report = JSON.parse(failing.stdout)
          assert.strictEqual(report.failed, 2)
          assert.lengthOf(report.failures, 2)
          assert.match(failing.stderr, /^2 value\(s\) could not be re-sealed/)
          assert.notInclude(failing.stdout + failing.stderr, "api-key-value")
        }),
      SLOW
    )
  })
})

const SyncLive = Layer.mergeAll(WorkspacesRepo.Default, IntegrationsRepo.Default, TestsRepo.Default, SealerLive).pipe(
  Layer.provideMerge(TestSqlLive()),
  Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: false }))
)

describe.skipIf(!onPostgres)("findry sync run", () => {
  layer(SyncLive, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect(
      "--workspace syncs that workspace now; a succeeded night is not synced again (text and --json)",
      () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const project = yield* emulatorProject()
          const workspaceId = yield* seedSyncedWorkspace(project, 2)
          const env = yield* cliEnv(yield* emulatorEnv)

          const text = yield* runCli(["sync", "run", "--workspace", workspaceId], env)
          assert.strictEqual(text.code, 0, text.stderr)
          assert.match(text.stdout, /: succeeded\. Tests synced 2\/2, archived \d+, deleted \d+\.$/m)
          const states = yield* sql<{ state: string | null }>`
          SELECT state FROM experiment_snapshots WHERE workspace_id = ${workspaceId}`
          assert.lengthOf(states, 2)
          assert.isTrue(states.every((row) => row.state !== "stale"), JSON.stringify(states))

          const json = yield* runCli(["sync", "run", "--workspace", workspaceId, "--json"], env)
          assert.strictEqual(json.code, 0, json.stderr)
          assert.deepInclude(JSON.parse(json.stdout), {
            workspaceId,
            status: "succeeded",
            alreadySynced: true,
            testsTotal: 2,
            testsSynced: 2,
            attempts: 1
          })
        }),
      SLOW
    )

    it.effect(
      "--workspace whose Amplitude key is revoked fails (exit 1) and is attempted again on the next run",
      () =>
        Effect.gen(function*() {
          const project = yield* emulatorProject({ managementKey: "revoked" })
          const workspaceId = yield* seedSyncedWorkspace(project, 1)
          const env = yield* cliEnv(yield* emulatorEnv)

          const first = yield* runCli(["sync", "run", "--workspace", workspaceId, "--json"], env)
          assert.strictEqual(first.code, 1, first.stderr)
          const outcome = JSON.parse(first.stdout)
          assert.deepInclude(outcome, { workspaceId, status: "failed", alreadySynced: false, attempts: 1 })
          assert.isString(outcome.reason)
          assert.match(first.stderr, new RegExp(`^The sync of workspace ${workspaceId} failed \\(${outcome.reason}\\)`))

          const second = yield* runCli(["sync", "run", "--workspace", workspaceId], env)
          assert.strictEqual(second.code, 1, second.stderr)
          assert.match(second.stdout, /: failed\. Tests synced 0\/1/)
          const [row] = yield* (yield* SqlClient.SqlClient)<{ attempts: number }>`
          SELECT attempts FROM experiment_sync_runs WHERE workspace_id = ${workspaceId}`
          assert.strictEqual(row?.attempts, 2, "the failed night was attempted again")

          const unknown = randomUUID()
          const missing = yield* runCli(["sync", "run", "--workspace", unknown], env)
          assert.strictEqual(missing.code, 1)
          assert.strictEqual(missing.stderr.trim(), `No workspace ${unknown}: check the id.`)
        }),
      SLOW
    )

    it.effect("--all with no scheduler runner alive fails (exit 1) and enqueues nothing", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const env = yield* cliEnv(yield* emulatorEnv)
        const result = yield* runCli(["sync", "run", "--all", "--json", "--timeout", "15"], env)
        assert.strictEqual(result.code, 1, result.stderr)
        assert.match(result.stderr, /^No scheduler runner is alive/)
        assert.strictEqual(result.stdout, "")
        const enqueued = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM cluster_messages WHERE entity_type LIKE 'Workflow/ExperimentSync%'`
        assert.strictEqual(enqueued[0]?.n, 0)
      }), SLOW)
  })
})
