# Fault case 3: more pg_mint callers than background worker slots
# (max_worker_processes = 4).  Driven by fault_helpers/fault_slots.py.
# Slots taken by parallel query, clones queued behind a build: 030_slots.pl;
# the pool's refillers under slot pressure: 042_pool_slots.pl.
# mint-tap: alone (tests/run runs it with no other TAP file: asserts 53400 after 300 ms and before 3 s, with every slot busy)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(3, 'Slot pressure',
	'max_worker_processes = 4: 24 concurrent clones (different targets) all succeed and are complete, '
	  . '24 concurrent drops too; with the slots held busy and pg_mint.worker_wait_timeout = 300ms the late callers '
	  . 'fail with 53400 naming the worker slots after the timeout and leave no database or registry row');

my $node = fault_node('fault_slots', 'max_worker_processes = 4');
run_scenario('fault_slots.py', conninfo($node));

check(poll_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'}, '0', 10) eq '0',
	'end: no pg_mint background worker left');
check(psql_value($node, q{SELECT count(*) FROM pg_database WHERE datname LIKE 'fault\_slot\_%' OR datname LIKE 'fault\_late%' OR datname LIKE '\_mint\_%'}) eq '0',
	'end: no clone or private database left');
check(psql_value($node, q{SELECT count(*) FROM mint.registry}) eq '1', 'end: only the template is registered');

end_node($node);
done_testing();
