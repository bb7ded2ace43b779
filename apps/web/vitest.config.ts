import { defineProject, mergeConfig } from "vitest/config"
import { sharedConfig } from "../../vitest.shared.js"

// Each browser test drives a real Chromium against the API and the Amplitude emulator: one file at a time.
export default mergeConfig(
  sharedConfig,
  defineProject({ test: { name: "@findry/web", testTimeout: 60_000, hookTimeout: 120_000 } })
)
