import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The state of the fleet-wide Amplitude governor (`FleetGovernor` in `@findry/amplitude-adapter`), shared by every
 * process on this database. `project` is the governor's project key: a hash of the region and the project's API key
 * (or management key), never a key itself. Concurrency slots need no table: they are session advisory locks.
 *
 * - `amplitude_query_cost`: Dashboard query cost charged per project per bucket (a sixtieth of the budget window,
 *   at least a second), `bucket_start` in epoch milliseconds. A bucket counts until its last instant has left the
 *   window, so the shared budget errs on the safe side by at most one bucket.
 * - `amplitude_experiment_pace`: a token bucket per project for the Experiment Management API; `tokens` goes below
 *   zero when callers have reserved requests ahead, each waiting its turn.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE amplitude_query_cost (
      project text NOT NULL,
      bucket_start bigint NOT NULL,
      cost bigint NOT NULL,
      PRIMARY KEY (project, bucket_start)
    )`
  yield* sql`
    CREATE TABLE amplitude_experiment_pace (
      project text PRIMARY KEY,
      tokens double precision NOT NULL,
      refilled_at timestamptz NOT NULL
    )`
  // Charges `cost` when the project's window has room (returns the bucket charged and the cost now used), or
  // returns how long until it has. Charges of one project run one at a time under a transaction advisory lock
  // (`lock_key`, -1); the governor's slots are the session locks (`lock_key`, 0..n-1). Expired buckets are purged.
  yield* sql.unsafe(`
    CREATE FUNCTION amplitude_governor_charge(
      p_project text, p_lock_key integer, p_cost bigint, p_budget bigint, p_window_ms bigint
    ) RETURNS TABLE (charged_bucket bigint, used bigint, wait_ms bigint) LANGUAGE plpgsql AS $$
    DECLARE
      now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      bucket_ms bigint := greatest(1000, p_window_ms / 60);
      current_bucket bigint := now_ms - now_ms % bucket_ms;
      total bigint;
      freed bigint := 0;
      old record;
    BEGIN
      PERFORM pg_advisory_xact_lock(p_lock_key, -1);
      DELETE FROM amplitude_query_cost
      WHERE project = p_project AND bucket_start + bucket_ms + p_window_ms <= now_ms;
      SELECT coalesce(sum(c.cost), 0) INTO total FROM amplitude_query_cost c WHERE c.project = p_project;
      IF total + p_cost <= p_budget THEN
        INSERT INTO amplitude_query_cost AS c (project, bucket_start, cost) VALUES (p_project, current_bucket, p_cost)
        ON CONFLICT (project, bucket_start) DO UPDATE SET cost = c.cost + excluded.cost;
        RETURN QUERY SELECT current_bucket, total + p_cost, 0::bigint;
        RETURN;
      END IF;
      FOR old IN
        SELECT c.bucket_start, c.cost FROM amplitude_query_cost c WHERE c.project = p_project ORDER BY c.bucket_start
      LOOP
        freed := freed + old.cost;
        IF total - freed + p_cost <= p_budget THEN
          RETURN QUERY SELECT NULL::bigint, total, greatest(1, old.bucket_start + bucket_ms + p_window_ms - now_ms);
          RETURN;
        END IF;
      END LOOP;
      RETURN QUERY SELECT NULL::bigint, total, p_window_ms;
    END
    $$`)
  // Takes one request from the project's bucket (refilled at `p_rate` per second up to `p_burst`) and returns the
  // milliseconds the caller waits before sending it: 0 while tokens are left.
  yield* sql.unsafe(`
    CREATE FUNCTION amplitude_governor_pace(p_project text, p_rate double precision, p_burst double precision)
    RETURNS bigint LANGUAGE sql AS $$
      INSERT INTO amplitude_experiment_pace AS p (project, tokens, refilled_at)
      VALUES (p_project, p_burst - 1, clock_timestamp())
      ON CONFLICT (project) DO UPDATE SET
        tokens = least(p_burst, p.tokens + extract(epoch FROM clock_timestamp() - p.refilled_at) * p_rate) - 1,
        refilled_at = clock_timestamp()
      RETURNING greatest(0, ceil(-tokens / p_rate * 1000))::bigint
    $$`)
})
