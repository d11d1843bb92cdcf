# Fault case 7: Names.  Driven by fault_helpers/fault_names.py; this file adds
# the end-state checks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(7, 'Names',
	'quotes, spaces, backslashes, %, non-ASCII, SQL-injection text, newline/tab, 63-byte names: clone/replace/drop touch exactly that database (set of databases changes by exactly that name; connecting by it reaches the complete clone); 64/200-byte, empty and NULL names fail with 42622/42602/22004 in every function and nothing is created or truncated; templates with hostile names build, clone and drop; worker_name <= 63 bytes, whole characters, deterministic; 1,000 distinct long (base, worker) pairs give 1,000 distinct names');

my $node = fault_node('fault_names');
run_scenario('fault_names.py', conninfo($node));

check(poll_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'}, '0', 10) eq '0',
	'end: no pg_mint background worker left');
check(psql_value($node, q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020}) eq '0',
	'end: no pg_mint lock left');
check(psql_value($node, q{SELECT count(*) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') AND datname NOT LIKE 'fault\\_%\\_tpl'}) eq '0',
	'end: no database left besides the template');

end_node($node);
done_testing();
