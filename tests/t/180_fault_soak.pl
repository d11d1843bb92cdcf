# Fault case 8: Soak.  Driven by fault_helpers/fault_soak.py; this file adds
# the end-state checks.
# mint-tap: alone (tests/run runs it with no other TAP file: 8 concurrent clients for up to 2 minutes: enough load to disturb another file)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(8, 'Soak',
	'200 clone/drop cycles (plus 50 replaces, checked complete) from 8 concurrent clients within 2 minutes; afterwards no leaked database, private copy, pg_mint worker, client backend or lock; mint.registry rows exactly as before; gc(0) finds nothing');

my $node = fault_node('fault_soak');
run_scenario('fault_soak.py', conninfo($node));

check(poll_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'}, '0', 10) eq '0',
	'end: no pg_mint background worker left');
check(psql_value($node, q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020}) eq '0',
	'end: no pg_mint lock left');
check(psql_value($node, q{SELECT count(*) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') AND datname NOT LIKE 'fault\\_%\\_tpl'}) eq '0',
	'end: no database left besides the template');

end_node($node);
done_testing();
