CREATE TABLE "control_plane_instances" (
	"id" uuid PRIMARY KEY NOT NULL,
	"internal_url" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "terminal_session_owners" (
	"session_id" uuid PRIMARY KEY NOT NULL,
	"instance_id" uuid NOT NULL,
	"instance_url" text NOT NULL,
	"user_id" text,
	"workspace_id" uuid NOT NULL,
	"target_id" uuid NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "terminal_session_owners" ADD CONSTRAINT "terminal_session_owners_instance_id_control_plane_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."control_plane_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "terminal_session_owners" ADD CONSTRAINT "terminal_session_owners_workspace_id_organization_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "terminal_session_owners_instance" ON "terminal_session_owners" USING btree ("instance_id");