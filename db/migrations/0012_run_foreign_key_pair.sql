-- A run references its connection and program as one pair (connection_id, program_id) → connections:
-- one foreign key check per planned run instead of two, and a run can never name another program
-- than its connection's (programs stay referenced through connections.program_id). The planner's
-- catch-up tick writes hundreds of thousands of runs, so per-row costs count: export_runs_program_idx
-- (program_id, created_at) served no query (program-led lookups use
-- export_runs_program_connection_window_idx), and the historical index keeps only historical runs.
ALTER TABLE "connections" ADD CONSTRAINT "connections_id_program_unique" UNIQUE("id","program_id");--> statement-breakpoint
ALTER TABLE "export_runs" ADD CONSTRAINT "export_runs_connection_program_fk" FOREIGN KEY ("connection_id","program_id") REFERENCES "public"."connections"("id","program_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "export_runs" DROP CONSTRAINT "export_runs_connection_id_connections_id_fk";--> statement-breakpoint
ALTER TABLE "export_runs" DROP CONSTRAINT "export_runs_program_id_programs_id_fk";--> statement-breakpoint
DROP INDEX "export_runs_program_idx";--> statement-breakpoint
DROP INDEX "export_runs_historical_idx";--> statement-breakpoint
CREATE INDEX "export_runs_historical_idx" ON "export_runs" USING btree ("historical_request_id") WHERE "export_runs"."historical_request_id" is not null;
