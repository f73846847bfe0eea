ALTER TABLE "deliveries" ADD COLUMN "bytes_done" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "bytes_total" bigint;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "progress_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "export_runs" ADD COLUMN "rows_written" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "export_runs" ADD COLUMN "progress_at" timestamp with time zone;