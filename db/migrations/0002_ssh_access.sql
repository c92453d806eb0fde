CREATE TABLE "ssh_access" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"target_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"source" text,
	"user" text NOT NULL,
	"fingerprint" text,
	"result" text NOT NULL,
	"more" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ssh_access" ADD CONSTRAINT "ssh_access_workspace_id_organization_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ssh_access_workspace" ON "ssh_access" USING btree ("workspace_id","at");