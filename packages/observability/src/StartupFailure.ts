import type { ConfigError } from "effect"

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
      return [`${error.path.join("_")} is invalid: ${error.message}`]
  }
}

/** One line naming every configuration variable that stopped start-up. */
export const configErrorLine = (error: ConfigError.ConfigError): string =>
  `Configuration error: ${[...new Set(problems(error))].join("; ")}. See the configuration table in README.md.`
