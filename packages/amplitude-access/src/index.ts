export * from "./ConnectionResolver.js"
export * from "./FailureReason.js"
