CREATE TABLE "signing_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"private_key_ciphertext" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "export_files" ADD COLUMN "signature" text;--> statement-breakpoint
ALTER TABLE "export_runs" ADD COLUMN "sequence" integer;--> statement-breakpoint
-- Runs planned before sequences existed get theirs in window order: per connection for incremental
-- windows, per historical request for its chunks.
UPDATE "export_runs" r SET "sequence" = s.n FROM (
  SELECT id, row_number() OVER (
    PARTITION BY connection_id, export_type, CASE WHEN export_type = 'historical' THEN historical_request_id END
    ORDER BY window_start) AS n
  FROM "export_runs") s
WHERE r.id = s.id;--> statement-breakpoint
CREATE UNIQUE INDEX "export_runs_incremental_sequence_unique" ON "export_runs" USING btree ("connection_id","sequence") WHERE "export_runs"."export_type" = 'incremental';