#!/usr/bin/env node
/**
 * `findry`, the operator command line: `findry --help` lists the commands. Exit codes: see `ExitCode` in
 * `cli/Errors.ts` (0 done, 1 failed, 2 usage error, 3 configuration error, 130 interrupted).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { runCli } from "./cli/Cli.js"
import { ExitCode } from "./cli/Errors.js"

runCli(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : ExitCode.interrupted)
  })
)
