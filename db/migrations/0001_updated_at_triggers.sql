-- Members and campaigns are exported by update time: every update moves updated_at,
-- whatever client writes the row.
CREATE OR REPLACE FUNCTION dde_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER members_set_updated_at BEFORE UPDATE ON members FOR EACH ROW EXECUTE FUNCTION dde_set_updated_at();
--> statement-breakpoint
CREATE TRIGGER campaigns_set_updated_at BEFORE UPDATE ON campaigns FOR EACH ROW EXECUTE FUNCTION dde_set_updated_at();
