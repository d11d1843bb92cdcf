# tests/t/pool_helpers/PoolUtil.pm -- shared helpers of the warm-pool TAP
# tests (tests/t/04*_pool*.pl).  Every test starts its own cluster; these
# helpers only talk to it over psql.
package PoolUtil;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(pool_node val poll_until sqlstate build_template start_psql finish_psql
  pool_full_sql wait_pool_full pool_counts spare_oids oid_of in_set consistency_problems
  clone_content $POLL_SECS);

# how long a background effect (refill, drop) may take before a test fails
our $POLL_SECS = 60;

# a fresh cluster with pg_mint created in postgres
sub pool_node
{
	my ($name, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "max_connections = 60\n" . ($conf // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_mint');
	return $node;
}

# one value (or several lines) from a query; dies on error
sub val
{
	my ($node, $sql, %o) = @_;
	my @extra = $o{user} ? (extra_params => [ '-U', $o{user} ]) : ();
	return $node->safe_psql($o{db} // 'postgres', $sql, @extra);
}

# run $sql until it returns $want or $secs pass; returns the last value
sub poll_until
{
	my ($node, $sql, $want, $secs) = @_;
	my $deadline = time + ($secs // $POLL_SECS);
	my $got;
	while (1)
	{
		my ($stdout, $stderr);
		$node->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr);
		$got = $stdout;
		return $got if defined $got && $got eq $want;
		last if time > $deadline;
		usleep(50_000);
	}
	diag("poll timed out after ${\($secs // $POLL_SECS)} s: $sql\n  want: $want\n  got:  "
		  . ($got // '(undef)'));
	return $got;
}

# SQLSTATE of the error $sql raises ('none' when it succeeds)
sub sqlstate
{
	my ($node, $sql, %o) = @_;
	my ($stdout, $stderr);
	my @extra = $o{user} ? (extra_params => [ '-U', $o{user} ]) : ();
	$node->psql($o{db} // 'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr, @extra);
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : 'none';
}

# Build template $tpl (fingerprint $fp) with $schema run over a second
# connection, as a client would; returns what template_begin said.
sub build_template
{
	my ($node, $tpl, $fp, $schema, %o) = @_;
	my $b = $node->background_psql('postgres', $o{user} ? (extra_params => [ '-U', $o{user} ]) : ());
	my $r = $b->query_safe("SELECT mint.template_begin('$tpl', '$fp')");
	if ($r eq 'build')
	{
		val($node, $schema, db => $tpl, user => $o{user});
		$b->query_safe("SELECT mint.template_finish('$tpl')");
	}
	$b->quit;
	return $r;
}

# psql running commands (one -c each, so each is its own top-level
# statement) in the background
sub start_psql
{
	my ($node, $cmds, %o) = @_;
	my %h = (out => '', err => '');
	my @c = map { ('-c', $_) } @$cmds;
	$h{run} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($o{db} // 'postgres') . ($o{user} ? " user=$o{user}" : ''), @c
		],
		'<', \undef, '>', \$h{out}, '2>', \$h{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%h;
}

# wait for it; returns (exit code, last line of output, stderr)
sub finish_psql
{
	my ($h) = @_;
	$h->{run}->finish;
	my @lines = grep { $_ ne '' } split /\n/, $h->{out};
	return ($h->{run}->result, $lines[-1] // '', $h->{err});
}

# true when the pool of $tpl has $n ready spares, none being made, and no
# refill worker is left
sub pool_full_sql
{
	my ($tpl, $n) = @_;
	return "SELECT (SELECT ready = $n AND being_made = 0 FROM mint.pools WHERE template = '$tpl')"
	  . " AND (SELECT count(*) = $n FROM mint.registry WHERE kind = 'spare' AND template = '$tpl')"
	  . " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_mint pool')";
}

sub wait_pool_full
{
	my ($node, $tpl, $n, $secs) = @_;
	return poll_until($node, pool_full_sql($tpl, $n), 't', $secs) eq 't';
}

# (hits, misses) as mint.pools shows them (pending events included)
sub pool_counts
{
	my ($node, $tpl) = @_;
	return split /\|/, val($node, "SELECT hits, misses FROM mint.pools WHERE template = '$tpl'");
}

# OIDs of the spares of $tpl (hash set)
sub spare_oids
{
	my ($node, $tpl) = @_;
	my $s = val($node, "SELECT datid FROM mint.registry WHERE kind = 'spare' AND template = '$tpl'");
	return { map { $_ => 1 } grep { $_ ne '' } split /\n/, $s };
}

sub oid_of
{
	my ($node, $db) = @_;
	return val($node, "SELECT oid FROM pg_database WHERE datname = '$db'");
}

sub in_set
{
	my ($set, @oids) = @_;
	return scalar grep { $set->{$_} } @oids;
}

# what a clone holds: "<build marker>:<rows in items>"
sub clone_content
{
	my ($node, $db, %o) = @_;
	return val($node, "SELECT (SELECT string_agg(build, ',') FROM build_marker) || ':' || (SELECT count(*) FROM items)",
		db => $db, user => $o{user});
}

# Registry and catalog disagreeing: a pg_mint row without its database, a
# private pg_mint name without a row, a spare that accepts connections.
sub consistency_problems
{
	my ($node) = @_;
	return val(
		$node, q{
SELECT string_agg(p, '; ') FROM (
  SELECT 'row without database: ' || r.datname AS p
    FROM mint.registry r
   WHERE NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.oid = r.datid AND d.datname = r.datname)
  UNION ALL
  SELECT 'database without row: ' || d.datname
    FROM pg_database d
   WHERE d.datname LIKE '\_mint\_%'
     AND NOT EXISTS (SELECT 1 FROM mint.registry r WHERE r.datid = d.oid AND r.datname = d.datname)
  UNION ALL
  SELECT 'spare accepting connections: ' || d.datname
    FROM mint.registry r JOIN pg_database d ON d.oid = r.datid
   WHERE r.kind = 'spare' AND d.datallowconn
) x});
}

1;
