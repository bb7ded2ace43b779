import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      "packages/*",
      "apps/*",
      { test: { name: "architecture", include: ["test/**/*.test.ts"] } }
    ],
    maxWorkers: 2,
    minWorkers: 1
  }
})
