# Fault case 1: the client building a template is SIGKILLed at several points.
# Driven by fault_helpers/fault_kill.py (a real client process, builder.py,
# is killed); this file adds the end-state checks.
# mint-tap: alone (tests/run runs it with no other TAP file: asserts template_begin returns 'build' within 1 s of a kill)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(1, 'Builder killed (SIGKILL)',
	'14 builder clients SIGKILLed during template_begin, right after it, mid-schema (inside a statement on the '
	  . 'template) and right before template_finish; next template_begin returns build within 1 s of the kill; '
	  . 'no clone from an unfinished template succeeds; every clone made is complete; no lock, worker or leftover');

my $node = fault_node('fault_kill');
my $conn = conninfo($node);

run_scenario('fault_kill.py', $conn);

# end state, seen from a fresh session
check(poll_value($node, q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020}, '0', 5) eq '0',
	'end: no pg_mint lock left in pg_locks');
check(poll_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'}, '0', 5) eq '0',
	'end: no pg_mint background worker left');
check(psql_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'fault_builder_%'}) eq '0',
	'end: no backend of a killed builder left');
my @dbs = psql_rows($node, q{SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1', 'fault_kill_tpl') ORDER BY 1});
check(!@dbs, 'end: no database left besides the template', join(',', @dbs));
my @gc = psql_rows($node, q{SELECT * FROM mint.gc('0')});
check(!grep({ $_ ne 'fault_kill_tpl' } @gc), 'end: mint.gc finds nothing of the killed builds to remove', join(',', @gc));

end_node($node);
done_testing();
