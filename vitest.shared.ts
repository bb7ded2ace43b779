import { defineConfig } from "vitest/config"

export const sharedConfig = defineConfig({
  ssr: { resolve: { conditions: ["@findry/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
