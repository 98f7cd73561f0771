CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`plan` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`baseline_steps` integer NOT NULL,
	`concurrent_jobs` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_keyHash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `canaries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version` text NOT NULL,
	`stable_version` text NOT NULL,
	`share` real NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`budgets` integer DEFAULT 0 NOT NULL,
	`canary_budgets` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`version`) REFERENCES `predictor_versions`(`version`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `canaries_version_idx` ON `canaries` (`version`,`started_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `canaries_one_running` ON `canaries` (`status`) WHERE status = 'running';--> statement-breakpoint
CREATE TABLE `canary_samples` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`canary_id` integer NOT NULL,
	`prompt_sha256` text NOT NULL,
	`stable_version` text NOT NULL,
	`canary_steps` integer NOT NULL,
	`stable_steps` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`canary_id`) REFERENCES `canaries`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `canary_samples_canary_idx` ON `canary_samples` (`canary_id`);--> statement-breakpoint
CREATE TABLE `job_owners` (
	`job_id` text PRIMARY KEY NOT NULL,
	`key_id` text NOT NULL,
	`baseline_steps` integer NOT NULL,
	`created_at` integer NOT NULL,
	`settled_at` integer
);
--> statement-breakpoint
CREATE INDEX `job_owners_open_idx` ON `job_owners` (`key_id`,`settled_at`);--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`key_id` text NOT NULL,
	`day` text NOT NULL,
	`budgets` integer DEFAULT 0 NOT NULL,
	`budget_steps` integer DEFAULT 0 NOT NULL,
	`budget_steps_saved_vs_baseline` integer DEFAULT 0 NOT NULL,
	`budget_steps_saved_vs_reference` integer DEFAULT 0 NOT NULL,
	`jobs` integer DEFAULT 0 NOT NULL,
	`steps_requested` integer DEFAULT 0 NOT NULL,
	`jobs_succeeded` integer DEFAULT 0 NOT NULL,
	`jobs_failed` integer DEFAULT 0 NOT NULL,
	`steps_spent` integer DEFAULT 0 NOT NULL,
	`gpu_seconds` real DEFAULT 0 NOT NULL,
	`auto_jobs` integer DEFAULT 0 NOT NULL,
	`steps_saved_vs_baseline` integer DEFAULT 0 NOT NULL,
	`steps_saved_vs_reference` integer DEFAULT 0 NOT NULL,
	`gpu_seconds_saved_vs_baseline` real DEFAULT 0 NOT NULL,
	`gpu_seconds_saved_vs_reference` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`key_id`, `day`)
);
