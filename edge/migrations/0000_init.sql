CREATE TABLE `activations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version` text NOT NULL,
	`activated_at` integer NOT NULL,
	`rolled_back_at` integer,
	FOREIGN KEY (`version`) REFERENCES `predictor_versions`(`version`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `embedding_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`model_id` text NOT NULL,
	`width` integer NOT NULL,
	`vector` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`request` text NOT NULL,
	`steps` integer NOT NULL,
	`steps_source` text NOT NULL,
	`seed` integer NOT NULL,
	`predictor_version` text,
	`worker_id` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`lease_until` integer,
	`not_before` integer DEFAULT 0 NOT NULL,
	`image_key` text,
	`timings` text,
	`error_code` text,
	`error_message` text
);
--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`,`not_before`);--> statement-breakpoint
CREATE TABLE `predictor_versions` (
	`version` text PRIMARY KEY NOT NULL,
	`manifest` text NOT NULL,
	`created_at` integer NOT NULL,
	`total_bytes` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`model_id` text NOT NULL,
	`capacity` integer NOT NULL,
	`queue_depth` integer NOT NULL,
	`in_flight` integer NOT NULL,
	`registered_at` integer NOT NULL,
	`last_heartbeat_at` integer NOT NULL,
	`unhealthy_until` integer DEFAULT 0 NOT NULL,
	`consecutive_failures` integer DEFAULT 0 NOT NULL
);
