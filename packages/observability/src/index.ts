export * from "./Logging.js"
export * from "./StartupFailure.js"
export * from "./Telemetry.js"
