ALTER TABLE `jobs` ADD `dispatch_shard` text DEFAULT '*/0' NOT NULL;--> statement-breakpoint
-- Jobs from before sharding go to shard 0 of their model, so the queued and running ones go on.
UPDATE `jobs` SET `dispatch_shard` = coalesce(json_extract(`request`, '$.model_id'), '*') || '/0' WHERE json_valid(`request`);--> statement-breakpoint
CREATE INDEX `jobs_shard_status_idx` ON `jobs` (`dispatch_shard`,`status`,`not_before`);
