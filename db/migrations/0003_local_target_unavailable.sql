ALTER TABLE "compute_targets" ADD COLUMN "unavailable_reason" text;--> statement-breakpoint
ALTER TABLE "compute_targets" ADD COLUMN "unavailable_fix" text;