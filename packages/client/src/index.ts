export * from "./FindryClient.js"
