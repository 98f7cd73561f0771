-- embedding_cache.vector holds base64 of the float32 bytes instead of JSON text of the values
-- (edge/src/runtime/base64.ts): a quarter of the bytes per D1 read and no number parsing
-- on the budget path. The rows are a cache of GPU-worker embeddings, so the old ones are dropped
-- rather than converted (SQLite cannot encode float32): each such prompt is embedded once more.
DELETE FROM `embedding_cache`;
