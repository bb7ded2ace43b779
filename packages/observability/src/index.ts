export * from "./Logging.js"
export * from "./StartupFailure.js"
