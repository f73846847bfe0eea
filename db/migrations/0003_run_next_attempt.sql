DROP INDEX "export_runs_status_idx";--> statement-breakpoint
ALTER TABLE "export_runs" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "export_runs_historical_idx" ON "export_runs" USING btree ("historical_request_id");--> statement-breakpoint
CREATE INDEX "export_runs_status_idx" ON "export_runs" USING btree ("status","updated_at");