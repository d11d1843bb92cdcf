# tests/t/cli_helpers/CliUtil.pm -- shared helpers of the CLI TAP tests
# (tests/t/01*_cli*.pl): where the program under test is, and running it.
package CliUtil;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use Test::More;

our @EXPORT = qw(pg_mint_binary run_pg_mint);

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

1;
