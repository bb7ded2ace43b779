export * from "./MetricValues.js"
export * from "./Verdicts.js"
