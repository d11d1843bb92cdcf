# tests/t/015_cli_redact.pl -- the pg_mint program never prints a password.
#
# Every case hands pg_mint a URL, connection string or stray word holding a
# password (each case its own, so a leak names the case) and checks the exit
# status, that no part of the password shows anywhere in stdout or stderr,
# and that the message still says what is wrong -- byte for byte where the
# message is known, with "xxxxx" where the password was.
#
# Covers: URL user information that does not parse (bad percent-escape, raw
# '/', '@' and ':' in the password, postgres://, postgresql+DRIVER://);
# password query parameters in any spelling (%70assword, PassWord, later
# after '&', a raw '&' inside); the same through --dsn, PG_MINT_DSN and
# DATABASE_URL, in URL and key=value form (quoted values with escapes, an
# unquoted value with a blank, a URL libpq reads word by word); libpq's
# connection errors when a raw '@' or '/' in a URL password lands in the
# host or port; URLs given where a command or argument was expected; and a
# real server refusing a wrong password.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/cli_helpers";
use CliUtil;
use IPC::Run;

my $pg_mint = pg_mint_binary();

# nothing from the caller's environment says where to connect
delete $ENV{$_}
  for qw(PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGPASSWORD
  DATABASE_URL PG_MINT_DSN PYTEST_XDIST_WORKER);
$ENV{PGCONNECT_TIMEOUT} = 5;

# run pg_mint; returns (exit status, stdout, stderr); env => {K => V|undef}
sub pgm
{
	my ($args, %o) = @_;
	return run_pg_mint($pg_mint, $args, timeout => 60, %o);
}

# run one case:
#   rc      expected exit status
#   secret  the password, or a list of its parts (none may show)
#   err     stderr: a string (exact) or a regex
#   out     stdout: the same (default: empty unless out_any)
sub case
{
	my ($name, $args, %o) = @_;
	my ($rc, $out, $err) = pgm($args, %o);
	is($rc, $o{rc}, "$name: exit status $o{rc}")
	  or diag("stdout: $out\nstderr: $err");
	my @secrets = ref $o{secret} ? @{ $o{secret} } : ($o{secret});
	for my $s (@secrets)
	{
		unlike($out . $err, qr/\Q$s\E/, "$name: \"$s\" not shown")
		  or diag("stdout: $out\nstderr: $err");
	}
	for my $stream ([ 'stderr', $err, $o{err} ], [ 'stdout', $out, $o{out} // '' ])
	{
		my ($what, $got, $want) = @$stream;
		next if $what eq 'stdout' && $o{out_any};
		if (ref $want eq 'Regexp') { like($got, $want, "$name: $what") }
		else { is($got, $want, "$name: $what") }
	}
	return ($rc, $out, $err);
}

my $hint_url = qq{pg_mint: hint: Try "pg_mint url --help" for more information.\n};
sub url_error { return qq{pg_mint: error: invalid URL "$_[0]": $_[1]\n} . $hint_url; }

# ---------------------------------------------------------------------------
# pg_mint url: URLs that do not parse (no server)
# ---------------------------------------------------------------------------

case('url: bad escape in the password',
	[ 'url', 'postgresql://u:S3cr3tPW01%zz@h:5432/app', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW01',
	err => url_error('postgresql://u:xxxxx@h:5432/app', 'invalid percent-encoding in the password'));
case('url: raw "/" in the password',
	[ 'url', 'postgresql://u:S3cr/3tPW02@h:5432/app%zz', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr', '3tPW02' ],
	err => url_error('postgresql://u:xxxxx@h:5432/app%zz', 'invalid port number'));
case('url: raw "@" in the password',
	[ 'url', 'postgresql://u:S3cr@3tPW03@h:5432/app%zz', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr', '3tPW03' ],
	err => url_error('postgresql://u:xxxxx@h:5432/app%zz', 'invalid percent-encoding in the database name'));
case('url: raw ":" in the password',
	[ 'url', 'postgresql://u:S3cr:3tPW04@h/app%zz', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr', '3tPW04' ],
	err => url_error('postgresql://u:xxxxx@h/app%zz', 'invalid percent-encoding in the database name'));
case('url: raw "/", "@" and ":" in the password',
	[ 'url', 'postgresql://u:S3/c@r:3tPW05@[::1/app', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3/c', 'r:3tPW05', '3tPW05' ],
	err => url_error('postgresql://u:xxxxx@[::1/app', 'invalid port number'));
case('url: postgres:// with a raw "/" in the password',
	[ 'url', 'postgres://u:S3cr/3tPW06@h/app', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr', '3tPW06' ],
	err => url_error('postgres://u:xxxxx@h/app', 'invalid port number'));
case('url: postgresql+asyncpg:// with a raw "@" in the password',
	[ 'url', 'postgresql+asyncpg://app:S3cr@3tPW07@db.example:6543/app_test?x', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr', '3tPW07' ],
	err => url_error('postgresql+asyncpg://app:xxxxx@db.example:6543/app_test?x', 'missing "=" in a URL query parameter'));
case('url: ?password=',
	[ 'url', 'postgresql://h/app%zz?password=S3cr3tPW08', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW08',
	err => url_error('postgresql://h/app%zz?password=xxxxx', 'invalid percent-encoding in the database name'));
case('url: ?%70assword=',
	[ 'url', 'postgresql://h/app?%70assword=S3cr3tPW09&x=%zz', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW09',
	err => url_error('postgresql://h/app?%70assword=xxxxx&x=%zz', 'invalid percent-encoding in a URL query parameter'));
case('url: ?PassWord=',
	[ 'url', 'postgresql://h/app?PassWord=S3cr3tPW10&sslmode=%zz', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW10',
	err => url_error('postgresql://h/app?PassWord=xxxxx&sslmode=%zz', 'invalid percent-encoding in a URL query parameter'));
case('url: &password= after other parameters',
	[ 'url', 'postgresql://u@h/app?sslmode=require&application_name=ci&password=S3cr3tPW11&x=%zz', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW11',
	err => url_error('postgresql://u@h/app?sslmode=require&application_name=ci&password=xxxxx&x=%zz',
		'invalid percent-encoding in a URL query parameter'));
case('url: pass%77ord= with a raw "&" in the value',
	[ 'url', 'postgresql://h/app?pass%77ord=S3cr&3tPW12&sslmode=disable', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr', '3tPW12' ],
	err => url_error('postgresql://h/app?pass%77ord=xxxxx&xxxxx&sslmode=disable', 'missing "=" in a URL query parameter'));
case('url: password in user information and query',
	[ 'url', 'postgresql+psycopg://u:S3cr3tPW13@h/app?PASSWORD=S3cr3tPW13b&ssl=%zz', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr3tPW13', 'S3cr3tPW13b' ],
	err => url_error('postgresql+psycopg://u:xxxxx@h/app?PASSWORD=xxxxx&ssl=%zz',
		'invalid percent-encoding in a URL query parameter'));
case('url: "@" in a query password too',
	[ 'url', 'postgresql://u:S3cr3tPW17@h/app%zz?password=S3c@r3tPW17b', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3cr3tPW17', 'S3c', 'r3tPW17b' ],
	err => url_error('postgresql://u:xxxxx', 'invalid percent-encoding in the database name'));
case('url: "@" in a query password, no user information',
	[ 'url', 'postgresql://h/app%zz?password=S3c@r3tPW18', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3c', 'r3tPW18' ],
	err => url_error('postgresql://h/app%zz?password=xxxxx', 'invalid percent-encoding in the database name'));
# no telling where a password with a raw '@' ends: hiding more is fine
case('url: "@" in a query password, ":" in the host',
	[ 'url', 'postgresql://u@h:5432/app%zz?password=S3c@r3tPW19&sslmode=require', '--worker', 'gw1' ],
	rc => 2, secret => [ 'S3c', 'r3tPW19' ],
	err => qr/^pg_mint: error: invalid URL "postgresql:\/\/u\@h:xxxxx.*&sslmode=require": invalid percent-encoding in the database name\n/);
case('url: --database with a URL that does not parse',
	[ 'url', 'postgresql://u:S3cr/3tPW14@h/app', '--database', 'other' ],
	rc => 2, secret => [ 'S3cr', '3tPW14' ],
	err => url_error('postgresql://u:xxxxx@h/app', 'invalid port number'));
case('url: a second URL',
	[ 'url', 'postgresql://h/app', 'postgresql://u:S3cr3tPW15@h/app', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW15',
	err => qq{pg_mint: error: too many arguments (first extra: "postgresql://u:xxxxx\@h/app")\n} . $hint_url);

# messages without a password are as they were
case('url: no password, message unchanged',
	[ 'url', 'postgresql://u@h:54x/db?sslmode=require', '--worker', 'gw1' ],
	rc => 2, secret => [],
	err => url_error('postgresql://u@h:54x/db?sslmode=require', 'invalid port number'));
case('url: IPv6 case of 010_cli.pl, message unchanged',
	[ 'url', 'postgresql://u:S3cr3tPW16@[::1/db', '--worker', 'gw1' ],
	rc => 2, secret => 'S3cr3tPW16',
	err => url_error('postgresql://u:xxxxx@[::1/db', 'missing "]" after an IPv6 host address'));
# the rewritten URL is the output: its password is kept
case('url: output keeps the password',
	[ 'url', 'postgresql://u:p%40ss@h:5432/app', '--worker', 'gw1' ],
	rc => 0, secret => [],
	out => "postgresql://u:p%40ss\@h:5432/app_gw1\n", err => '');

# ---------------------------------------------------------------------------
# --dsn, PG_MINT_DSN, DATABASE_URL that do not parse (no server)
# ---------------------------------------------------------------------------

case('--dsn: URL with a raw "/" in the password',
	[ '--dsn', 'postgresql://u:S3cr/3tPW20@h/x%zz', 'list' ],
	rc => 2, secret => [ 'S3cr', '3tPW20' ],
	err => qq{pg_mint: error: invalid --dsn "postgresql://u:xxxxx\@h/x%zz": invalid port number\n});
case('PG_MINT_DSN: URL with ?password=',
	[ 'list' ],
	env => { PG_MINT_DSN => 'postgresql://h/x?password=S3cr3tPW21&x=%zz' },
	rc => 2, secret => 'S3cr3tPW21',
	err => qq{pg_mint: error: invalid PG_MINT_DSN "postgresql://h/x?password=xxxxx&x=%zz": invalid percent-encoding in a URL query parameter\n});
case('DATABASE_URL: URL with a raw "@" in the password',
	[ 'list' ],
	env => { DATABASE_URL => 'postgresql+asyncpg://u:S3cr@3tPW22@h/x%zz' },
	rc => 2, secret => [ 'S3cr', '3tPW22' ],
	err => qq{pg_mint: error: invalid DATABASE_URL "postgresql+asyncpg://u:xxxxx\@h/x%zz": invalid percent-encoding in the database name\n});
case('DATABASE_URL: bad escape in the password (doctor)',
	[ 'doctor' ],
	env => { DATABASE_URL => 'postgres://u:S3cr3tPW23%g0@h/x' },
	rc => 2, secret => 'S3cr3tPW23',
	err => qq{pg_mint: error: invalid DATABASE_URL "postgres://u:xxxxx\@h/x": invalid percent-encoding in the password\n});
case('--dsn: unquoted conninfo password with a blank',
	[ '--dsn', 'host=/nonexistent-dir password=S3cr 3tPW24 dbname=x', 'list' ],
	rc => 2, secret => [ 'S3cr', '3tPW24' ],
	err => qq{pg_mint: error: invalid --dsn: missing "=" after "xxxxx" in connection info string\n\n});
case('PG_MINT_DSN: unterminated quoted conninfo password with escapes',
	[ 'list' ],
	env => { PG_MINT_DSN => q{host=/nonexistent-dir password='S3 cr\\'3tPW25} },
	rc => 2, secret => [ 'S3 cr', '3tPW25' ],
	err => qq{pg_mint: error: invalid PG_MINT_DSN: unterminated quoted string in connection info string\n\n});
case('--dsn: conninfo password, then an unknown keyword (still named)',
	[ '--dsn', 'host=/nonexistent-dir password=S3cr3tPW26 bogus_kw=1', 'list' ],
	rc => 2, secret => 'S3cr3tPW26',
	err => qq{pg_mint: error: invalid --dsn: invalid connection option "bogus_kw"\n\n});
case('--dsn: URL after a blank (libpq reads it as key=value)',
	[ '--dsn', ' postgresql://u:S3cr3tPW27@h/db', 'list' ],
	rc => 2, secret => 'S3cr3tPW27',
	err => qq{pg_mint: error: invalid --dsn: missing "=" after "postgresql://u:xxxxx\@h/db" in connection info string\n\n});
case('DATABASE_URL: URL after a blank, "=" in the password',
	[ 'list' ],
	env => { DATABASE_URL => ' postgresql://u:S3cr=3tPW28@h/db?sslmode=require' },
	rc => 2, secret => [ 'S3cr', '3tPW28' ],
	err => qq{pg_mint: error: invalid DATABASE_URL: invalid connection option "postgresql://u:xxxxx\@h/db?sslmode"\n\n});
case('--dsn: URL after conninfo words',
	[ '--dsn', 'host=/nonexistent-dir postgresql://u:S3cr=3tPW29@h/db', 'list' ],
	rc => 2, secret => [ 'S3cr', '3tPW29' ],
	err => qq{pg_mint: error: invalid --dsn: missing "=" after "postgresql://u:xxxxx\@h/db" in connection info string\n\n});
case('--dsn: mistyped URL (one slash)',
	[ '--dsn', 'postgresql:/u:S3cr3tPW30@h/db', 'list' ],
	rc => 2, secret => 'S3cr3tPW30',
	err => qr/^pg_mint: error: invalid --dsn: missing "=" after "postgresql:xxxxx\@h\/db" in connection info string\n/);

# ---------------------------------------------------------------------------
# connecting fails (nothing listens; no server)
# ---------------------------------------------------------------------------

my $could_not = qr/^pg_mint: error: could not connect to the maintenance database: .*\npg_mint: hint: Say where the server is/s;

case('--dsn: conninfo password, no server',
	[ '--dsn', 'host=/nonexistent-dir password=S3cr3tPW40 dbname=x', 'list' ],
	rc => 1, secret => 'S3cr3tPW40',
	err => qr/$could_not/);
case('PG_MINT_DSN: quoted conninfo password with blank and escapes, no server',
	[ 'list' ],
	env => { PG_MINT_DSN => q{host=/nonexistent-dir password='S3 cr\\'3tPW41' dbname=x} },
	rc => 1, secret => [ 'S3 cr', '3tPW41' ],
	err => qr/$could_not/);
case('DATABASE_URL: conninfo password, no server',
	[ 'list' ],
	env => { DATABASE_URL => 'host=/nonexistent-dir password=S3cr3tPW42' },
	rc => 1, secret => 'S3cr3tPW42',
	err => qr/$could_not/);
case('--dsn: URL password, no server',
	[ '--dsn', 'postgresql://u:S3cr3tPW43@%2Fnonexistent-dir/x?password=S3cr3tPW43b', 'list' ],
	rc => 1, secret => [ 'S3cr3tPW43', 'S3cr3tPW43b' ],
	err => qr/$could_not/);
# a raw '@' ends libpq's user information early: the rest becomes the host
case('--dsn: raw "@" in the password, libpq quotes the host',
	[ '--dsn', 'postgresql://u:S3cr@3tPW44@%2Fnonexistent-dir/x', 'list' ],
	rc => 1, secret => [ 'S3cr', '3tPW44' ],
	err => qr/^pg_mint: error: could not connect to the maintenance database: could not translate host name "xxxxx" to address/);
case('DATABASE_URL: raw "@" in the password, doctor',
	[ 'doctor' ],
	env => { DATABASE_URL => 'postgresql+asyncpg://u:S3cr@3tPW45@%2Fnonexistent-dir/x' },
	rc => 1, secret => [ 'S3cr', '3tPW45' ],
	err => '',
	out => qr/^FAIL  connection to the maintenance database: could not translate host name "xxxxx" to address.*\n      fix: .*\n\n1 problem blocks pg_mint\n\z/);
# a raw '/' ends the host: the password's start becomes the port
{
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	case('PG_MINT_DSN: raw "/" in the password, libpq quotes the port',
		[ 'list' ],
		env => { PG_MINT_DSN => "postgresql://127.0.0.1:$port/S3cr3tPW46\@h/x" },
		rc => 1, secret => [ $port, 'S3cr3tPW46' ],
		err => qr/^pg_mint: error: could not connect to the maintenance database: connection to server at "127\.0\.0\.1", port xxxxx failed/);
}

# ---------------------------------------------------------------------------
# a URL where pg_mint expects something else
# ---------------------------------------------------------------------------

case('URL as the command',
	[ 'postgresql://u:S3cr3tPW50@h/db', 'list' ],
	rc => 2, secret => 'S3cr3tPW50',
	err => qq{pg_mint: error: unknown command "postgresql://u:xxxxx\@h/db"\npg_mint: hint: Try "pg_mint --help" for more information.\n});
case('URL glued to --dsn',
	[ '--dsnpostgresql://u:S3cr3tPW51@h/db', 'list' ],
	rc => 2, secret => 'S3cr3tPW51',
	err => qq{pg_mint: error: unrecognized option "--dsnpostgresql://u:xxxxx\@h/db"\npg_mint: hint: Try "pg_mint --help" for more information.\n});
case('list: URL as an argument',
	[ 'list', 'postgresql://u:S3cr3tPW52@h/db' ],
	rc => 2, secret => 'S3cr3tPW52',
	err => qq{pg_mint: error: unexpected argument "postgresql://u:xxxxx\@h/db"\npg_mint: hint: Try "pg_mint list --help" for more information.\n});
case('doctor: conninfo as an argument',
	[ 'doctor', 'host=h password=S3cr3tPW53' ],
	rc => 2, secret => 'S3cr3tPW53',
	err => qq{pg_mint: error: unexpected argument "host=h password=xxxxx"\npg_mint: hint: Try "pg_mint doctor --help" for more information.\n});
case('clone: URL as an extra argument',
	[ 'clone', 't', 'x', 'postgresql://u:S3cr/3tPW54@h/db' ],
	rc => 2, secret => [ 'S3cr', '3tPW54' ],
	err => qq{pg_mint: error: too many arguments (first extra: "postgresql://u:xxxxx\@h/db")\npg_mint: hint: Try "pg_mint clone --help" for more information.\n});
case('run: URL as an extra argument',
	[ 'run', 't', 'x', 'postgres://u:S3cr3tPW55@h/db', '--', 'true' ],
	rc => 2, secret => 'S3cr3tPW55',
	err => qr/^pg_mint: error: unexpected argument "postgres:\/\/u:xxxxx\@h\/db" \(COMMAND goes after "--"\)\n/);
case('template: URL as an extra argument',
	[ 'template', 't', 'postgresql://u:S3cr3tPW56@h/db', '--', 'true' ],
	rc => 2, secret => 'S3cr3tPW56',
	err => qr/^pg_mint: error: unexpected argument "postgresql:\/\/u:xxxxx\@h\/db" \(COMMAND goes after "--"\)\n/);
case('gc: unrelated argument unchanged',
	[ 'gc', 'x:y' ],
	rc => 2, secret => [],
	err => qq{pg_mint: error: unexpected argument "x:y"\npg_mint: hint: Try "pg_mint gc --help" for more information.\n});

# ---------------------------------------------------------------------------
# a real server refusing a wrong password
# ---------------------------------------------------------------------------

my $node = PostgreSQL::Test::Cluster->new('redact');
$node->init;
{
	# role app must give a password; the test's own role is trusted
	my $hba = $node->data_dir . '/pg_hba.conf';
	open my $fh, '<', $hba or die "$hba: $!";
	my $old = do { local $/; <$fh> };
	close $fh;
	open $fh, '>', $hba or die "$hba: $!";
	print $fh "local all app scram-sha-256\n", $old;
	close $fh;
}
$node->start;
$node->safe_psql('postgres', "CREATE ROLE app LOGIN PASSWORD 'R1ghtPW'");
my $sock = $node->host;
(my $esock = $sock) =~ s{/}{%2F}g;
my $port = $node->port;
my $auth_failed = qr/^pg_mint: error: could not connect to the maintenance database: .*password authentication failed for user "app"/s;

case('server: wrong URL password',
	[ '--dsn', "postgresql://app:Wr0ngPW60\@$esock:$port/postgres", 'list' ],
	rc => 1, secret => 'Wr0ngPW60', err => $auth_failed);
case('server: wrong conninfo password (quoted, blank)',
	[ 'list' ],
	env => { PG_MINT_DSN => "host=$sock port=$port user=app password='Wr0ng PW61'" },
	rc => 1, secret => [ 'Wr0ng', 'PW61' ], err => $auth_failed);
case('server: wrong password in DATABASE_URL query',
	[ 'list' ],
	env => { DATABASE_URL => "postgresql+asyncpg://app\@$esock:$port/app?password=Wr0ngPW62" },
	rc => 1, secret => 'Wr0ngPW62', err => $auth_failed);
case('server: doctor, wrong password',
	[ 'doctor', '--dsn', "postgresql://app:Wr0ngPW63\@$esock:$port/postgres" ],
	rc => 1, secret => 'Wr0ngPW63', err => '',
	out => qr/^FAIL  connection to the maintenance database: .*password authentication failed for user "app"/);
case('server: right password connects (doctor gets past the connection)',
	[ 'doctor', '--dsn', "postgresql://app:R1ghtPW\@$esock:$port/postgres" ],
	rc => 1, secret => 'R1ghtPW', err => '',
	out => qr/^ok    connected to database "postgres" as "app"/);

$node->stop;
done_testing();
