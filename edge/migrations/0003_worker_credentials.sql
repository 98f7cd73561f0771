CREATE TABLE `worker_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`worker_id` text NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `worker_credentials_secretHash_unique` ON `worker_credentials` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `worker_credentials_worker_idx` ON `worker_credentials` (`worker_id`,`revoked_at`);