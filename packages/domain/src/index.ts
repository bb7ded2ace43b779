export * from "./Api.js"
export * from "./Errors.js"
export * from "./HealthApi.js"
export * from "./Ids.js"
