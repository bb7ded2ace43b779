import type { ShardingConfig } from "@effect/cluster"
import { Duration } from "effect"

/**
 * Sharding settings every node of the cluster must share: runners (single or socket) and client-only
 * producers such as the API (a producer computes the shard of every message it enqueues). Intervals are
 * tuned down from the defaults so that a runner notices new work and replies within ~100 ms (measured:
 * `bench:annotations` went from 25 to 36 pushes/s on one runner and from 24 to 46/s on two, for a few cheap
 * polling queries a second) and another runner takes over a killed one's shards within seconds
 * (docs/scheduler.md#roles-one-runner-or-n-runners).
 */
export const clusterSharding: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  shardsPerGroup: 100,
  entityMessagePollInterval: Duration.millis(100),
  entityReplyPollInterval: Duration.millis(50),
  refreshAssignmentsInterval: Duration.seconds(1),
  runnerHealthCheckInterval: Duration.seconds(3),
  shardLockRefreshInterval: Duration.seconds(2),
  shardLockExpiration: Duration.seconds(6),
  // When a shard moves (a runner joins or stops), its entities get this long to finish what they are doing
  // before they are interrupted and the shard is released; the new owner resumes interrupted work from storage,
  // as after a crash. The library's 15 s held part of the work that long whenever a runner joined.
  entityTerminationTimeout: Duration.seconds(3),
  // A runner keeps an entity it has run (a finished workflow, an activity) until it has been idle this long; the
  // library's 1 minute kept a minute of a busy night's finished workspaces in memory. An entity that gets a message
  // later is simply started again.
  entityMaxIdleTime: Duration.seconds(10)
}
