import { NodeRuntime } from "@effect/platform-node"
import { Config, ConfigProvider, DateTime, Effect } from "effect"
import { isDay } from "./Dates.js"
import { AmplitudeEmulator } from "./Emulator.js"
import { DEMO_PROJECTS } from "./Project.js"

/** `--us-port 4200` / `--us-port=4200` → `AMPLITUDE_EMULATOR_US_PORT=4200` (flags win over the environment). */
const flagsProvider = (argv: ReadonlyArray<string>) => {
  const entries: Array<[string, string]> = []
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!)
    if (match === null) continue
    const value = match[2] ?? argv[++i] ?? ""
    entries.push([`AMPLITUDE_EMULATOR_${match[1]!.replaceAll("-", "_").toUpperCase()}`, value])
  }
  return ConfigProvider.fromMap(new Map(entries), { pathDelim: "_" })
}

const settings = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  us: Config.port("US_PORT").pipe(Config.withDefault(4100)),
  eu: Config.port("EU_PORT").pipe(Config.withDefault(4101)),
  experimentUs: Config.port("EXPERIMENT_US_PORT").pipe(Config.withDefault(4102)),
  experimentEu: Config.port("EXPERIMENT_EU_PORT").pipe(Config.withDefault(4103)),
  endDate: Config.option(
    Config.string("END_DATE").pipe(Config.validate({ message: "Expected a date as YYYY-MM-DD", validation: isDay }))
  )
}).pipe(Config.nested("AMPLITUDE_EMULATOR"))

const program = Effect.gen(function*() {
  const config = yield* settings
  const today = DateTime.formatIsoDateUtc(yield* DateTime.now)
  const endDate = config.endDate._tag === "Some" ? config.endDate.value : today
  const emulator = yield* AmplitudeEmulator.make({
    host: config.host,
    ports: { us: config.us, eu: config.eu, experimentUs: config.experimentUs, experimentEu: config.experimentEu },
    data: { endDate }
  })
  const lines = [
    "Amplitude emulator running (Ctrl-C to stop)",
    `  US analytics      ${emulator.urls.us}`,
    `  EU analytics      ${emulator.urls.eu}`,
    `  US Experiment     ${emulator.urls.experimentUs}`,
    `  EU Experiment     ${emulator.urls.experimentEu}`,
    `  Control API       ${emulator.urls.us}/__emulator (on every port)`,
    `  Seeded data ends  ${endDate}`,
    "",
    "Demo projects:"
  ]
  for (const spec of Object.values(DEMO_PROJECTS)) {
    const project = yield* emulator.project(spec.id)
    lines.push(
      `  ${project.name} [${project.id}, appId ${project.appId}, ${project.region.toUpperCase()}, taxonomy ${
        spec.taxonomy ? "on" : "off"
      }]`,
      `    API key         ${project.apiKey}`,
      `    Secret key      ${project.secretKey}`,
      ...project.managementKeys.map((k) =>
        `    Management key  ${k.key}${k.access === "none" ? " (no access: 403)" : ""}`
      )
    )
  }
  console.log(lines.join("\n"))
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.withConfigProvider(
    flagsProvider(process.argv.slice(2)).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
  )
)

NodeRuntime.runMain(program)
