import { NodeRuntime } from "@effect/platform-node"
import { Keyring, rotateSecrets, SecretSealer } from "@findry/crypto"
import { configErrorLine } from "@findry/observability"
import { DatabaseLive, MigrationsLive } from "@findry/persistence"
import { Cause, ConfigError, Console, Data, Effect, Layer, Logger, LogLevel, Option } from "effect"
import { ApiConfig, ApiConfigLive } from "./ApiConfig.js"
import { issueToken } from "./Jwt.js"
import { SealedSecretStoreLive } from "./KeyRotation.js"

const usage = `Usage:
  cli token <userId> [hours]       print a bearer token for <userId> (default: valid 12 hours)
  cli rotate-keys [batchSize]      re-seal every stored secret under the newest FINDRY_ENCRYPTION_KEYS key`

class UsageError extends Data.TaggedError("UsageError") {}

const token = (userId: string | undefined, hours: string | undefined) =>
  Effect.gen(function*() {
    if (userId === undefined || !/^[\w.@:-]{1,128}$/.test(userId)) return yield* new UsageError()
    const ttlHours = hours === undefined ? 12 : Number(hours)
    if (!Number.isFinite(ttlHours) || ttlHours <= 0) return yield* new UsageError()
    const { authSecret } = yield* ApiConfig
    yield* Console.log(issueToken(authSecret, { sub: userId, ttlSeconds: Math.round(ttlHours * 3600) }))
  }).pipe(Effect.provide(ApiConfigLive))

const rotateKeys = (batch: string | undefined) =>
  Effect.gen(function*() {
    const batchSize = batch === undefined ? 100 : Number(batch)
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0) return yield* new UsageError()
    const report = yield* rotateSecrets({
      batchSize,
      onProgress: (progress) =>
        Console.log(
          `scanned ${progress.scanned}, re-sealed ${progress.rewrapped}, already current ${progress.skipped}, ` +
            `changed meanwhile ${progress.conflicts}, failed ${progress.failed}`
        )
    })
    yield* Console.log(
      `Done. Current key: ${report.currentKeyId}. Values still on older keys: ${report.remainingOnOldKeys}` +
        (report.failures.length > 0
          ? `; failures: ${report.failures.map((f) => `${f.id} (${f.reason})`).join(", ")}`
          : "")
    )
    if (report.remainingOnOldKeys === 0) {
      yield* Console.log("No value uses an older key: older keys can now be removed from FINDRY_ENCRYPTION_KEYS.")
    }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(SealedSecretStoreLive, SecretSealer.Default).pipe(
        Layer.provide(MigrationsLive.pipe(Layer.provideMerge(DatabaseLive))),
        Layer.provide(Keyring.Default)
      )
    )
  )

const [command, ...args] = process.argv.slice(2)

const program = command === "token"
  ? token(args[0], args[1])
  : command === "rotate-keys"
  ? rotateKeys(args[0])
  : Effect.fail(new UsageError())

program.pipe(
  Effect.tapErrorCause((cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && failure.value instanceof UsageError) return Console.error(usage)
    if (Option.isSome(failure) && ConfigError.isConfigError(failure.value)) {
      return Console.error(configErrorLine(failure.value))
    }
    return Console.error(Cause.pretty(cause))
  }),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
