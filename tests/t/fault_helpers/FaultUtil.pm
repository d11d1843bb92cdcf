# FaultUtil.pm -- shared Perl side of pg_mint's fault suite (tests/t/1*_fault_*.pl).
#
# fault_node()     a fresh cluster with pg_mint created in "postgres"
# run_scenario()   run a Python scenario (tests/t/fault_helpers/*.py) against
#                  the node; every check it reports becomes a TAP assertion
# check()          a TAP assertion that is also written to the fault report
# case_header() / metrics()   what the report table (tests/FAULTS.md) shows
#
# The report: when MINT_FAULT_REPORT names a file, one JSON object per line is
# appended to it; tests/t/fault_helpers/faults_md.py turns it into FAULTS.md.
package FaultUtil;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

use Exporter 'import';
our @EXPORT = qw(fault_node end_node conninfo run_scenario start_scenario finish_scenario
  check case_header metrics helper psql_value psql_rows poll_value);

our $HELPERS = dirname(abs_path(__FILE__));
our $PYTHON  = $ENV{MINT_PYTHON} // '/usr/bin/python3';
our $CASE    = '?';
my $json = JSON::PP->new->utf8->canonical(1);

sub helper { return "$HELPERS/$_[0]"; }

sub _report
{
	my ($rec) = @_;
	my $file = $ENV{MINT_FAULT_REPORT} or return;
	$rec->{case} //= $CASE;
	$rec->{file} = basename($0);
	open(my $fh, '>>', $file) or return;
	print $fh $json->encode($rec), "\n";
	close $fh;
	return;
}

# case_header(1, 'Builder killed', 'what is asserted ...')
sub case_header
{
	my ($id, $title, $asserts) = @_;
	$CASE = $id;
	_report({ header => 1, title => $title, asserts => $asserts });
	note("case $id: $title");
	return;
}

sub metrics
{
	my ($m) = @_;
	_report({ metrics => $m });
	note("metrics: " . $json->encode($m));
	return;
}

sub check
{
	my ($ok, $what, $detail) = @_;
	my $r = ok($ok, $what);
	diag("  detail: $detail") if !$r && defined $detail && $detail ne '';
	_report({ what => $what, ok => ($r ? JSON::PP::true : JSON::PP::false),
		detail => ($r ? '' : ($detail // '')) });
	return $r;
}

sub fault_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	# log_statement = all (the default here) makes the log huge under load
	$node->append_conf('postgresql.conf', join("\n", 'log_statement = none', @conf));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_mint');
	return $node;
}

# Check the server log for crashed processes, then stop the node without
# bailing out of the whole prove run if the server is already gone.
sub end_node
{
	my ($node) = @_;
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
	my @crashes = ($log =~ /^.*terminated by signal (?!3:|9:|15:).*$/mg);
	check(!@crashes, 'no server process crashed during the case', join("\n", @crashes[0 .. ($#crashes < 4 ? $#crashes : 4)]));
	$node->stop('fast', fail_ok => 1);
	return;
}

sub conninfo
{
	my ($node) = @_;
	my $user = $node->safe_psql('postgres', 'SELECT current_user');
	return "host=" . $node->host . " port=" . $node->port . " user=$user dbname=postgres";
}

# psql that never dies (a crashed server must not abort the test file):
# returns the output, or '<error: ...>' when psql fails
sub psql_value
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql);
	return $rc == 0 ? $out : "<error: $err>";
}

sub psql_rows
{
	my ($node, $sql) = @_;
	my $out = psql_value($node, $sql);
	return grep { $_ ne '' } split(/\n/, $out);
}

# Poll $sql until it returns $want or $timeout seconds pass; returns the last value.
sub poll_value
{
	my ($node, $sql, $want, $timeout) = @_;
	my $deadline = time() + ($timeout // 10);
	my $v;
	while (1)
	{
		$v = psql_value($node, $sql);
		return $v if $v eq $want || time() >= $deadline;
		sleep(0.02);
	}
}

sub _take_result
{
	my ($script, $rc, $out, $err) = @_;
	my ($line) = grep { /^\{"checks"/ } split(/\n/, $out // '');
	my $res;
	if (!defined $line)
	{
		check(0, "$script produced a result", "rc=$rc stderr=" . substr($err // '', -3000));
		return { checks => [], metrics => {} };
	}
	$res = $json->decode($line);
	diag("$script stderr: " . substr($err, -2000)) if defined $err && $err =~ /Traceback/;
	foreach my $c (@{ $res->{checks} })
	{
		check($c->{ok}, $c->{what}, $c->{detail});
	}
	metrics($res->{metrics}) if %{ $res->{metrics} // {} };
	return $res;
}

# Run a scenario to completion; returns its decoded result.
sub run_scenario
{
	my ($script, @args) = @_;
	my ($out, $err) = ('', '');
	my $timeout = $PostgreSQL::Test::Utils::timeout_default;
	my $ok = eval {
		IPC::Run::run([ $PYTHON, helper($script), @args ], '<', \undef, '>', \$out, '2>', \$err,
			IPC::Run::timeout($timeout));
		1;
	};
	my $rc = $ok ? $? >> 8 : "timeout/$@";
	return _take_result($script, $rc, $out, $err);
}

# Start a scenario in the background; stdin stays open until finish_scenario.
sub start_scenario
{
	my ($script, @args) = @_;
	my $s = { script => $script, in => '', out => '', err => '' };
	$s->{timer} = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	$s->{h} = IPC::Run::start([ $PYTHON, helper($script), @args ],
		'<', \$s->{in}, '>', \$s->{out}, '2>', \$s->{err}, $s->{timer});
	return $s;
}

# Wait until the scenario prints a line matching $re; returns the line or undef.
sub wait_line
{
	my ($s, $re) = @_;
	while (1)
	{
		if (my @m = ($s->{out} =~ $re))
		{
			return $m[0];
		}
		return undef if $s->{timer}->is_expired || !$s->{h}->pumpable;
		$s->{h}->pump_nb;
		sleep(0.01);
	}
}

sub finish_scenario
{
	my ($s) = @_;
	$s->{in} .= "go\n";
	eval { $s->{h}->finish; };
	return _take_result($s->{script}, $s->{h}->result // -1, $s->{out}, $s->{err});
}

push @EXPORT, 'wait_line';

1;
