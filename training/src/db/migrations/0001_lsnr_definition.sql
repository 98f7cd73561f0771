-- SPEC §3's revision turned L-SNR from N/(S+N) into S/(S+N). A dataset that already holds
-- metrics when this migration runs measured them with the first definition: record that, so the
-- pipeline maps them exactly (1 - x) instead of mixing them with new ones
-- (training/src/pipeline/lsnr-revision.ts). Datasets measured later record "signal_share".
INSERT INTO `run_meta` (`key`, `value`)
SELECT 'lsnr_definition', '"noise_share"' WHERE EXISTS (SELECT 1 FROM `image_metrics`);
