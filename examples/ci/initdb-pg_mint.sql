-- Run by the official postgres image's entrypoint on first start
-- (/docker-entrypoint-initdb.d), connected to the `postgres` database.
CREATE EXTENSION IF NOT EXISTS pg_mint;
