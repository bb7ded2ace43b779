import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Every committed change to a workspace's integration rows or members is announced on the
 * `findry_workspace_changes` channel with the workspace id, whoever made it (any API replica, the scheduler,
 * SQL by hand), so that processes caching what members may read can drop it (`WorkspaceChanges`).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE FUNCTION findry_announce_workspace_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('findry_workspace_changes', OLD.workspace_id::text);
      ELSE
        PERFORM pg_notify('findry_workspace_changes', NEW.workspace_id::text);
        IF TG_OP = 'UPDATE' AND OLD.workspace_id <> NEW.workspace_id THEN
          PERFORM pg_notify('findry_workspace_changes', OLD.workspace_id::text);
        END IF;
      END IF;
      RETURN NULL;
    END
    $$`
  yield* sql`
    CREATE TRIGGER integrations_announce_change AFTER INSERT OR UPDATE OR DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION findry_announce_workspace_change()`
  yield* sql`
    CREATE TRIGGER workspace_members_announce_change AFTER INSERT OR UPDATE OR DELETE ON workspace_members
    FOR EACH ROW EXECUTE FUNCTION findry_announce_workspace_change()`
})
