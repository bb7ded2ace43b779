import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*"],
    maxWorkers: 2,
    minWorkers: 1
  }
})
