\set ECHO none
-- tests/regress/include/reset.sql -- back to a cluster without pg_mint's test
-- objects: no mint_rt* database, no mint_rt_* role, no pg_mint extension in
-- this database.  By hand, so it also clears what an interrupted earlier run
-- left (its bookkeeping died with the old contrib_regression).  Quiet: prints
-- nothing unless something fails.  Used by setup.sql and teardown.sql.
SET client_min_messages = warning;
SELECT format('ALTER DATABASE %I IS_TEMPLATE false', datname),
       format('DROP DATABASE %I WITH (FORCE)', datname)
  FROM pg_database WHERE datname LIKE 'mint\_rt%' ORDER BY datname
\gexec
SELECT format('DROP OWNED BY %I', rolname), format('DROP ROLE %I', rolname)
  FROM pg_roles WHERE rolname LIKE 'mint\_rt\_%' ORDER BY rolname
\gexec
DROP EXTENSION IF EXISTS pg_mint;
RESET client_min_messages;
\if :{?mint_rt_nested}
\set mint_rt_echo none
\else
\set mint_rt_echo all
\endif
\set ECHO :mint_rt_echo
