ALTER TABLE "export_runs" ADD COLUMN "planned_xid" bigint;--> statement-breakpoint
ALTER TABLE "export_runs" ADD COLUMN "finish_before_pause" boolean DEFAULT false NOT NULL;