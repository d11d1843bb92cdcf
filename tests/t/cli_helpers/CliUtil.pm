# tests/t/cli_helpers/CliUtil.pm -- shared helpers of the CLI TAP tests
# (tests/t/01*_cli*.pl): where the program under test is, and running it.
package CliUtil;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use Test::More;

our @EXPORT = qw(pg_mint_binary run_pg_mint check_pg_mint);

# the program under test: $PG_MINT_BIN, else the tree's build, else PATH
sub pg_mint_binary
{
	my $bin = $ENV{PG_MINT_BIN};
	if (!$bin)
	{
		my $built = ($ENV{TESTDIR} // '.') . '/cli/pg_mint';
		$bin = -x $built ? $built : 'pg_mint';
	}
	note "testing $bin";
	return $bin;
}

# run it; returns (exit status, stdout, stderr); env => {K => V|undef},
# timeout => seconds (default 120)
sub run_pg_mint
{
	my ($bin, $args, %o) = @_;
	my ($out, $err) = ('', '');
	local %ENV = %ENV;
	while (my ($k, $v) = each %{ $o{env} // {} })
	{
		if (defined $v) { $ENV{$k} = $v } else { delete $ENV{$k} }
	}
	IPC::Run::run([ $bin, @$args ],
		'<', \'', '>', \$out, '2>', \$err,
		IPC::Run::timeout($o{timeout} // 120));
	my $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8;
	return ($rc, $out, $err);
}

# run it and check the exit status (and optionally stdout/stderr patterns:
# out, err, out_not, err_not); returns (exit status, stdout, stderr)
sub check_pg_mint
{
	my ($bin, $name, $args, $want_rc, %o) = @_;
	my ($rc, $out, $err) = run_pg_mint($bin, $args, timeout => 120, %o);
	is($rc, $want_rc, "$name: exit status $want_rc")
	  or diag("stdout: $out\nstderr: $err");
	like($out, $o{out}, "$name: stdout") if $o{out};
	like($err, $o{err}, "$name: stderr") if $o{err};
	unlike($out, $o{out_not}, "$name: stdout lacks") if $o{out_not};
	unlike($err, $o{err_not}, "$name: stderr lacks") if $o{err_not};
	return ($rc, $out, $err);
}

1;
