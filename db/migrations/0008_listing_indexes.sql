-- Listings in large catalogs: folders of a program newest first, the files of given runs, and a
-- connection's runs newest window first.
CREATE INDEX IF NOT EXISTS "export_files_program_created_run_idx" ON "export_files" USING btree ("program_id","created_at","run_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "export_files_program_run_idx" ON "export_files" USING btree ("program_id","run_id","file_type","part");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "export_runs_program_connection_window_idx" ON "export_runs" USING btree ("program_id","connection_id","window_start","id");