--
-- 010_worker_name: mint.worker_name(base, worker)
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never

-- the plain case and the NULL / empty worker
SELECT mint.worker_name('app_test', 'gw3');
SELECT mint.worker_name('app_test', NULL);
SELECT mint.worker_name('app_test', '');
SELECT pg_typeof(mint.worker_name('app_test', 'gw3'));

-- names that need quoting stay exactly as given
SELECT mint.worker_name('My App', 'gw "1"');
SELECT mint.worker_name('app_tëst', 'gw0');

-- exactly 63 bytes: unchanged; 64 bytes: shortened with a hash
SELECT n, octet_length(n) AS bytes, n = repeat('a', 59) || '_gw1' AS unchanged
  FROM mint.worker_name(repeat('a', 59), 'gw1') AS n;
SELECT n, octet_length(n) AS bytes, n LIKE repeat('a', 10) || '%\_gw1' AS keeps_worker,
       n <> left(repeat('a', 60) || '_gw1', 63) AS not_truncated
  FROM mint.worker_name(repeat('a', 60), 'gw1') AS n;
-- the same without a worker part: a 63-byte base is kept, 64 bytes are not
SELECT n = repeat('a', 63) AS unchanged FROM mint.worker_name(repeat('a', 63), NULL) AS n;
SELECT n, octet_length(n) AS bytes FROM mint.worker_name(repeat('a', 64), NULL) AS n;
-- a long worker part is not kept whole: base_worker is cut, then hashed
SELECT n, octet_length(n) AS bytes FROM mint.worker_name('app_test', repeat('w', 60)) AS n;

-- deterministic
SELECT mint.worker_name(repeat('x', 100), 'gw7') = mint.worker_name(repeat('x', 100), 'gw7') AS same;

-- long names never exceed 63 bytes and never collide, whatever differs
-- (worker, a late byte of the base, a long worker that is itself cut off)
SELECT count(*) AS names, count(DISTINCT n) AS distinct_names, max(octet_length(n)) AS max_bytes
  FROM (
    SELECT mint.worker_name(repeat('b', 70), 'gw' || i) AS n FROM generate_series(0, 199) i
    UNION ALL
    SELECT mint.worker_name(repeat('b', 70) || i, 'gw0') FROM generate_series(0, 199) i
    UNION ALL
    SELECT mint.worker_name('app', repeat('w', 80) || i) FROM generate_series(0, 199) i
    UNION ALL
    SELECT mint.worker_name(repeat('c', 100) || i, NULL) FROM generate_series(0, 199) i
  ) s;

-- PostgreSQL would silently truncate these two to the same 63 bytes;
-- worker_name keeps them apart
SELECT left(repeat('d', 62) || '_gw1', 63) = left(repeat('d', 62) || '_gw2', 63) AS server_would_collide,
       mint.worker_name(repeat('d', 62), 'gw1') <> mint.worker_name(repeat('d', 62), 'gw2') AS pg_mint_keeps_apart;

-- multibyte: shortened on a character boundary, still valid UTF-8
SELECT n, octet_length(n) AS bytes, n::text ~ '^é+_[0-9a-f]{16}_gw1$' AS whole_characters
  FROM mint.worker_name(repeat('é', 40), 'gw1') AS n;
-- a cut that would fall inside a 2-byte character backs off by one byte
SELECT n, octet_length(n) AS bytes FROM mint.worker_name('x' || repeat('é', 40), 'gw1') AS n;
SELECT mint.worker_name(repeat('é', 40), 'gw1') <> mint.worker_name(repeat('é', 40), 'gw2') AS distinct_names;

-- errors
SELECT mint.worker_name(NULL, 'gw0');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.worker_name('', 'gw0');
\echo :LAST_ERROR_SQLSTATE

\i tests/regress/include/teardown.sql
