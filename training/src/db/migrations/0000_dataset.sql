CREATE TABLE `image_metrics` (
	`prompt_id` integer NOT NULL,
	`steps` integer NOT NULL,
	`seed` integer NOT NULL,
	`lsnr` real NOT NULL,
	`dsim` real NOT NULL,
	`iclip` real NOT NULL,
	PRIMARY KEY(`prompt_id`, `steps`, `seed`)
);
--> statement-breakpoint
CREATE TABLE `images` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`prompt_id` integer NOT NULL,
	`steps` integer NOT NULL,
	`seed` integer NOT NULL,
	`file` text NOT NULL,
	`sha256` text NOT NULL,
	`bytes` integer NOT NULL,
	`gen_ms` real NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`prompt_id`) REFERENCES `prompts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `images_prompt_steps_seed` ON `images` (`prompt_id`,`steps`,`seed`);--> statement-breakpoint
CREATE TABLE `metrics` (
	`prompt_id` integer NOT NULL,
	`steps` integer NOT NULL,
	`lsnr` real NOT NULL,
	`dsim` real NOT NULL,
	`iclip` real NOT NULL,
	`seeds` integer NOT NULL,
	PRIMARY KEY(`prompt_id`, `steps`)
);
--> statement-breakpoint
CREATE TABLE `prompts` (
	`id` integer PRIMARY KEY NOT NULL,
	`text` text NOT NULL,
	`split` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
