CREATE TABLE "api_client_connections" (
	"client_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_client_connections_client_id_connection_id_pk" PRIMARY KEY("client_id","connection_id")
);
--> statement-breakpoint
ALTER TABLE "api_client_connections" ADD CONSTRAINT "api_client_connections_client_id_api_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."api_clients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_client_connections" ADD CONSTRAINT "api_client_connections_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_client_connections_connection_idx" ON "api_client_connections" USING btree ("connection_id");--> statement-breakpoint
-- Existing clients keep reading what they read before: every API connection of their program.
INSERT INTO "api_client_connections" ("client_id", "connection_id")
SELECT c."id", k."id" FROM "api_clients" c JOIN "connections" k ON k."program_id" = c."program_id" AND k."kind" = 'api'
ON CONFLICT DO NOTHING;
