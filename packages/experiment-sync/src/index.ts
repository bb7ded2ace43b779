export * from "./ExperimentFields.js"
export * from "./ExperimentSync.js"
export * from "./Workflows.js"
