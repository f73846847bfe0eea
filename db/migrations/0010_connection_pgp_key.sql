ALTER TABLE "connections" ADD COLUMN "pgp_public_key" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "pgp_key_fingerprint" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "pgp_key_user_ids" text[];--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "pgp_key_expires_at" timestamp with time zone;