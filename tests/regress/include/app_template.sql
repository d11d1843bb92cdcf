\set ECHO none
-- tests/regress/include/app_template.sql -- the finished template mint_rt_app
-- (fingerprint 'schema-1', built over a second connection as a real builder
-- does): table users (id int PRIMARY KEY, name text NOT NULL) holding
-- (1, 'ada').  After setup.sql.  Quiet: prints nothing unless something fails.
SELECT mint.template_begin('mint_rt_app', 'schema-1') AS mint_rt_begin \gset
\! psql -X -q -v ON_ERROR_STOP=1 -d mint_rt_app -c "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL); INSERT INTO users VALUES (1, 'ada');"
SELECT mint.template_finish('mint_rt_app') AS mint_rt_finish \gset
\set ECHO all
