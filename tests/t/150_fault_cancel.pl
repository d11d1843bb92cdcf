# Fault case 5: statement_timeout and pg_cancel_backend during clone (new
# target, replacing a target, a real 76 MB file_copy) and during template_begin
# (waiting for another builder, and in its worker).  Driven by
# fault_helpers/fault_cancel.py.
# mint-tap: alone (tests/run runs it with no other TAP file: interrupts calls in a given phase, found by timing)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use Test::More;

case_header(5, 'Cancel (statement_timeout, pg_cancel_backend)',
	'each of: clone to a new target, clone replacing a target (after its private copy exists), clone by file_copy of '
	  . 'a 76 MB template, template_begin waiting for another builder, template_begin in its worker; interrupted by '
	  . 'statement_timeout and by pg_cancel_backend: 57014, worker gone, no lock, no database or registry row left, '
	  . 'the target untouched, no orphaned directory in base/, the same call then succeeds');

my $node = fault_node('fault_cancel');
run_scenario('fault_cancel.py', conninfo($node));

check(poll_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'}, '0', 5) eq '0',
	'end: no pg_mint background worker left');
check(psql_value($node, q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020}) eq '0',
	'end: no pg_mint lock left');

end_node($node);
done_testing();
