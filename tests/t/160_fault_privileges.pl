# Fault case 6: privileges.  fault_helpers/fault_priv.py drives the calls as a
# CREATEDB role, a role without CREATEDB and two roles against each other;
# this file also runs the pytest-xdist example (examples/pytest-xdist) as a
# role that has CREATEDB but is not a superuser.
# The exact messages and SQLSTATEs of the privilege rules for one session
# switching roles (SET ROLE, role membership, a NOLOGIN role, a temporary
# table shadowing mint.registry) are in tests/regress/sql/060_privileges.sql;
# this case drives separate clients per role and the protected databases.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/fault_helpers";
use FaultUtil;
use IPC::Run;
use Test::More;

case_header(6, 'Privileges',
	'a CREATEDB non-superuser runs template_begin/build/finish/clone/replace/rebuild/drop/gc and the whole pytest-xdist '
	  . 'example (-n 4); a role without CREATEDB gets 42501 and makes nothing; role A cannot replace, drop, rebuild or '
	  . 'finish role B\'s databases (42501/55000), its gc leaves them; mint.registry is read-only to roles; postgres, '
	  . 'template0, template1 and a hand-made database survive clone/drop/template_begin/finish/abort/gc aimed at them');

# restart_after_crash: a crashing call must not take the rest of the case down with it
my $node = fault_node('fault_priv', 'restart_after_crash = on');
run_scenario('fault_priv.py', conninfo($node));

# the pytest-xdist example, as a CREATEDB non-superuser
# (through the pg_mint pytest plugin, loaded from python/ with -p: not installed here)
my $example = "$FindBin::RealBin/../../examples/pytest-xdist";
my $pypkg   = "$FindBin::RealBin/../../python";
SKIP:
{
	skip 'examples/pytest-xdist or python/ not present', 3
	  unless -f "$example/pytest.ini" && -f "$pypkg/pg_mint/plugin.py";
	poll_value($node, 'SELECT 1', '1', 60);    # up again if a crash restarted it
	psql_value($node, 'CREATE ROLE fault_app LOGIN CREATEDB');
	my $url = 'postgresql+psycopg://fault_app@/fault_app_test?host=' . $node->host . '&port=' . $node->port;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run([ $FaultUtil::PYTHON, '-m', 'pytest', '-n', '4', '-q', '-p', 'no:cacheprovider', '-p', 'pg_mint.plugin' ],
			'<', \undef, '>', \$out, '2>', \$err,
			init => sub { chdir $example or die "chdir $example: $!"; $ENV{DATABASE_URL} = $url;
				$ENV{PYTHONDONTWRITEBYTECODE} = 1; $ENV{PYTHONPATH} = $pypkg; },
			IPC::Run::timeout(180));
	};
	my ($summary) = ($out =~ /(\d+ passed[^\n]*)/);
	check($ok && $out =~ /\d+ passed/ && $out !~ /failed|error/i,
		'fault_app (CREATEDB, not superuser) runs the pytest-xdist example with -n 4: ' . ($summary // 'no summary'),
		substr($out . $err, -3000));
	my $owners = psql_value($node, q{SELECT string_agg(DISTINCT owner, ',') FROM mint.databases WHERE datname LIKE 'fault\_app\_test%'});
	check($owners eq 'fault_app', 'the example\'s template and clones are owned by fault_app', $owners);
	my $n = psql_value($node, q{SELECT count(*) FROM mint.databases WHERE datname LIKE 'fault\_app\_test\_gw%' AND kind = 'clone'});
	check($n >= 4, "the example made one clone per xdist worker ($n)", $n);
}

check(poll_value($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'}, '0', 5) eq '0',
	'end: no pg_mint background worker left');
end_node($node);
done_testing();
