import { ValidationError } from "@effect/cli"
import { SqlError } from "@effect/sql"
import { configErrorLine } from "@findry/observability"
import { Cause, ConfigError, Console, Effect, Option, Schema } from "effect"

/** Exit codes of `findry`, for scripts. */
export const ExitCode = {
  /** The command did what it says. */
  ok: 0,
  /** The command ran and failed: database unreachable, a sync or rotation that failed, an unknown workspace, … */
  failure: 1,
  /** The command line was wrong: unknown command, missing or malformed option or argument. Nothing was done. */
  usage: 2,
  /** A configuration variable is missing or malformed (named on stderr, its value never printed). Nothing was done. */
  config: 3,
  /** Interrupted (SIGINT/SIGTERM). */
  interrupted: 130
} as const

/** The command line asks for something that cannot be done as written; nothing was done. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

/** The command ran and did not succeed; the message says what to do. */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  message: Schema.String
}) {}

const sqlErrorLine = (error: SqlError.SqlError) => {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return `Database error: ${error.message}${cause}. Check that DATABASE_URL points at a running PostgreSQL.`
}

/**
 * Prints why the command stopped (one line on stderr, without configuration values) and gives its exit code.
 * `@effect/cli` already printed its own usage errors.
 */
export const reportFailure = (cause: Cause.Cause<unknown>): Effect.Effect<number> => {
  if (Cause.isInterruptedOnly(cause)) return Effect.succeed(ExitCode.interrupted)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) return Effect.succeed(ExitCode.usage)
    if (error instanceof UsageError) {
      return Effect.as(Console.error(`${error.message} (--help shows the usage)`), ExitCode.usage)
    }
    if (ConfigError.isConfigError(error)) return Effect.as(Console.error(configErrorLine(error)), ExitCode.config)
    if (error instanceof CommandFailed) return Effect.as(Console.error(error.message), ExitCode.failure)
    if (error instanceof SqlError.SqlError) return Effect.as(Console.error(sqlErrorLine(error)), ExitCode.failure)
  }
  const squashed = Cause.squash(cause)
  if (squashed instanceof SqlError.SqlError) return Effect.as(Console.error(sqlErrorLine(squashed)), ExitCode.failure)
  return Effect.as(
    Console.error(`Failed: ${squashed instanceof Error ? squashed.message : String(squashed)}`),
    ExitCode.failure
  )
}
