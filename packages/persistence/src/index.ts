export * from "./Database.js"
export * from "./DatabaseHealth.js"
export * from "./Migrations.js"
