# Fault case 4: the server stops with `pg_ctl stop -m immediate` while clones,
# a drop and a template build are in flight.  fault_helpers/fault_crash.py
# puts the work in flight ("load") and checks the state after the restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(4, 'Server crash (immediate stop)',
	'stop -m immediate with a clone replace (private copy made), a drop (marked dropping), a new clone, a half-done '
	  . 'template build and 2 clone loops in flight; after restart every ready row is complete, the replaced target '
	  . 'still points at its old complete copy, the unfinished build is not ready; mint.gc(0) removes every leftover '
	  . '(no _mint_ db, no building/dropping row, no dangling row); a new build/finish/clone run works');

my $node = fault_node('fault_crash');
my $conn = conninfo($node);

my $load = start_scenario('fault_crash.py', 'load', $conn);
my $ready = wait_line($load, qr/^READY (\d+)$/m);
check(defined $ready, 'work is in flight when the server is stopped');
$node->stop('immediate');
finish_scenario($load);

$node->start;
run_scenario('fault_crash.py', 'check', $conn, $ready // 0);

check(psql_value($node, q{SELECT count(*) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1', 'fault_crash_tpl', 'fault_crash_tpl2', 'fault_crash_bld')}) eq '0',
	'end: only the three finished templates are left');

end_node($node);
done_testing();
