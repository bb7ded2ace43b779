export * from "./MetricValues.js"
export * from "./OutcomeMeasurement.js"
export * from "./OutcomeSweep.js"
export * from "./Verdicts.js"
