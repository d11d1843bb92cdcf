# Fault case 2: stray sessions on the clone target (idle, idle in transaction,
# reconnecting in a loop, a prepared transaction).  Driven by
# fault_helpers/fault_stray.py; this file adds the end-state checks.
# mint-tap: alone (tests/run runs it with no other TAP file: asserts a clone over stray sessions in < 2 s)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(2, 'Stray sessions',
	'clone over an idle and an idle-in-transaction session, and while 4 clients reconnect in a loop, succeeds in < 2 s, '
	  . 'ends the sessions, gives a fresh complete copy and drops the old one; a prepared transaction makes clone/drop '
	  . 'fail with 55006 naming its gid and gc must not touch the target (same OID, connectable, registry ready)');

my $node = fault_node('fault_stray', 'max_prepared_transactions = 4');
run_scenario('fault_stray.py', conninfo($node));

check(psql_value($node, q{SELECT count(*) FROM pg_prepared_xacts}) eq '0', 'end: no prepared transaction left');
check(poll_value($node, q{SELECT count(*) FROM pg_database WHERE datname LIKE 'fault_stray_c%' OR datname LIKE '\_mint\_%'}, '0', 10) eq '0',
	'end: no clone or private database left');
check(psql_value($node, q{SELECT count(*) FROM mint.registry WHERE state <> 'ready'}) eq '0',
	'end: no unfinished registry row');

end_node($node);
done_testing();
