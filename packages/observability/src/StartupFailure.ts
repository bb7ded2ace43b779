import { Cause, ConfigError, Console, Effect, Option } from "effect"

/** Effect's built-in messages end with the offending value ("… but received <value>"): never print it. */
const withoutValue = (message: string) => message.replace(/,?\s*but received[\s\S]*$/, "")

const problems = (error: ConfigError.ConfigError): ReadonlyArray<string> => {
  switch (error._op) {
    case "And":
      return [...problems(error.left), ...problems(error.right)]
    case "Or":
      return problems(error.left).length > 0 ? problems(error.left) : problems(error.right)
    case "MissingData":
      return [`${error.path.join("_")} is not set`]
    case "InvalidData":
    case "SourceUnavailable":
    case "Unsupported":
      return [`${error.path.join("_")} is invalid: ${withoutValue(error.message)}`]
  }
}

/** One line naming every configuration variable that stopped start-up. */
export const configErrorLine = (error: ConfigError.ConfigError): string =>
  `Configuration error: ${[...new Set(problems(error))].join("; ")}. See the configuration table in README.md.`

/**
 * Reports why a process could not start or stopped: configuration problems as one line on stderr (no stack,
 * no values), anything else through the logger.
 */
export const reportStartupFailure = (processName: string) => (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  const configError = Cause.failureOption(cause).pipe(Option.filter(ConfigError.isConfigError))
  return Option.isSome(configError)
    ? Console.error(configErrorLine(configError.value))
    : Effect.logError(`The ${processName} stopped`, cause)
}
