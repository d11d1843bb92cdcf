# tests/t/010_cli.pl -- the pg_mint command-line program, as real processes
# against a real server (PostgreSQL::Test::Cluster).
#
# Covers: every command's happy path; usage errors (exit 2), runtime errors
# (exit 1) with server message / SQLSTATE / hint; URL rewriting over a table
# of tricky URLs (offline); connection sources (-h/-p/-d, --dsn with a
# +driver URL, PG_MINT_DSN, DATABASE_URL fallback); --fingerprint-files
# against an independent computation; template with a failing COMMAND;
# two concurrent `template` runs (fifo-synchronised); --timeout; SIGINT
# while waiting (template and clone: server call cancelled) and while
# building (aborted, no lock, no half-built template); `run` propagating
# exit statuses and signals.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/cli_helpers";
use CliUtil;
use IPC::Run;
use POSIX qw(mkfifo);
use Digest::SHA;
use File::Path qw(make_path);
use JSON::PP;
use Time::HiRes qw(time);

my $pg_mint = pg_mint_binary();

my $node = PostgreSQL::Test::Cluster->new('cli');
$node->init;
$node->start;

# the environment every pg_mint call gets unless a test overrides it
delete $ENV{$_}
  for qw(PGDATABASE PGSERVICE PGHOSTADDR DATABASE_URL PG_MINT_DSN PYTEST_XDIST_WORKER PGUSER);
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
my $osuser = $node->safe_psql('postgres', 'SELECT current_user');

my $tmp = PostgreSQL::Test::Utils::tempdir;

# run pg_mint; returns (exit status, stdout, stderr); env => {K => V|undef}
sub pgm
{
	my ($args, %o) = @_;
	return run_pg_mint($pg_mint, $args, timeout => 120, %o);
}

# run and check the exit status (and optionally stdout/stderr patterns)
sub check
{
	return check_pg_mint($pg_mint, @_);
}

# start pg_mint in the background
sub pgm_start
{
	my ($args, $out, $err, %o) = @_;
	local %ENV = %ENV;
	$ENV{$_} = $o{env}{$_} for keys %{ $o{env} // {} };
	return IPC::Run::start([ $pg_mint, @$args ],
		'<', \'', '>', $out, '2>', $err, IPC::Run::timeout(120));
}

sub finish_rc
{
	my ($h) = @_;
	$h->finish;
	my $r = $h->full_result(0);
	return $r & 127 ? 128 + ($r & 127) : $r >> 8;
}

# poll with a deadline (no sleeps standing in for synchronisation)
sub wait_until
{
	my ($what, $cond) = @_;
	my $deadline = time + 60;
	while (time < $deadline)
	{
		return 1 if $cond->();
		select(undef, undef, undef, 0.05);
	}
	fail("timed out waiting until $what");
	return 0;
}

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# sessions waiting on a pg_mint lock
sub lock_waiters
{
	return q1(
		"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
	);
}

sub mint_locks
{
	return q1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0");
}

# ---------------------------------------------------------------------------
# offline: --help, --version, usage errors, durations, URL rewriting
# ---------------------------------------------------------------------------

check('--version', ['--version'], 0, out => qr/^pg_mint \(pg_mint\) \d+\.\d+\n\z/);
check('-V', ['-V'], 0, out => qr/^pg_mint \(pg_mint\) /);
check('--help', ['--help'], 0,
	out => qr/Usage:\n  pg_mint \[OPTION\]\.\.\. COMMAND.*Connection options:.*-h, --host=HOSTNAME.*-\?, --help/s);
for my $c (qw(template clone run drop list gc url doctor fingerprint))
{
	check("$c --help", [ $c, '--help' ], 0, out => qr/Usage:\n  pg_mint $c/);
}
check('help clone', [ 'help', 'clone' ], 0, out => qr/Usage:\n  pg_mint clone TEMPLATE TARGET/);

my $try = qr/pg_mint: hint: Try "pg_mint( \w+)? --help" for more information\./;
my @usage = (
	[ 'no command',         [],                              qr/error: no command given/ ],
	[ 'unknown command',    ['frobnicate'],                  qr/error: unknown command "frobnicate"/ ],
	[ 'unknown option',     [ 'list', '--frob' ],            qr/error: unrecognized option "--frob"/ ],
	[ 'unknown short',      [ 'list', '-Z' ],                qr/error: invalid option -- 'Z'/ ],
	[ 'missing value',      [ 'clone', 't', 'x', '--print' ], qr/error: option --print requires a value/ ],
	[ 'flag with value',    [ 'list', '--json=yes' ],        qr/does not take a value/ ],
	[ 'template no name',   ['template'],                    qr/no template NAME given/ ],
	[ 'template no --',     [ 'template', 't', 'true' ],     qr/unexpected argument "true" \(COMMAND goes after "--"\)/ ],
	[ 'template no --',     [ 'template', 't' ],             qr/missing "--" before COMMAND/ ],
	[ 'template no cmd',    [ 'template', 't', '--' ],       qr/no COMMAND after "--"/ ],
	[ 'bad timeout',        [ 'template', 't', '--timeout', '5x', '--', 'true' ], qr/invalid duration "5x" for --timeout/ ],
	[ 'negative timeout',   [ 'template', 't', '--timeout', '-1s', '--', 'true' ], qr/invalid duration "-1s"/ ],
	[ 'empty timeout',      [ 'template', 't', '--timeout=', '--', 'true' ], qr/invalid duration ""/ ],
	[ 'bad older-than',     [ 'gc', '--older-than', '1 hour' ], qr/invalid duration "1 hour" for --older-than/ ],
	[ 'bad older-than 2',   [ 'gc', '--older-than', 'ms' ],  qr/invalid duration "ms"/ ],
	[ 'clone no template',  ['clone'],                       qr/no TEMPLATE given/ ],
	[ 'clone no target',    [ 'clone', 't' ],                qr/TARGET, or --base BASE/ ],
	[ 'clone both',         [ 'clone', 't', 'x', '--base', 'b' ], qr/either TARGET or --base/ ],
	[ 'clone worker only',  [ 'clone', 't', 'x', '--worker', 'gw0' ], qr/--worker needs --base/ ],
	[ 'clone bad print',    [ 'clone', 't', 'x', '--print', 'json' ], qr/invalid value "json" for --print/ ],
	[ 'clone url no url',   [ 'clone', 't', 'x', '--print', 'url' ], qr/--print url needs --url URL or DATABASE_URL/ ],
	[ 'clone with --',      [ 'clone', 't', 'x', '--', 'true' ], qr/unexpected "--"/ ],
	[ 'run no --',          [ 'run', 't', '--base', 'b' ],   qr/missing "--" before COMMAND/ ],
	[ 'run no base',        [ 'run', 't', '--', 'true' ],    qr/TARGET, or --base BASE/ ],
	[ 'drop nothing',       ['drop'],                        qr/no database NAME given/ ],
	[ 'list extra',         [ 'list', 'x' ],                 qr/unexpected argument "x"/ ],
	[ 'url no url',         [ 'url', '--worker', 'gw0' ],    qr/no URL given/ ],
	[ 'url no target',      [ 'url', 'postgresql://h/db' ],  qr/--worker W \[--base BASE\] or --database NAME/ ],
	[ 'url both',           [ 'url', 'postgresql://h/db', '--worker', 'w', '--database', 'd' ], qr/cannot be used together/ ],
	[ 'url base only',      [ 'url', 'postgresql://h/db', '--base', 'b' ], qr/--base needs --worker/ ],
	[ 'url no db',          [ 'url', 'postgresql://h', '--worker', 'gw1' ], qr/names no database: give --base BASE/ ],
	[ 'url bad ipv6',       [ 'url', 'postgresql://u:s3cret@[::1/db', '--worker', 'gw1' ], qr/invalid URL "postgresql:\/\/u:xxxxx@\[::1\/db": missing "\]"/ ],
	[ 'url bad escape',     [ 'url', 'postgresql://u:s3cret%zz@h/db', '--worker', 'gw1' ], qr/invalid percent-encoding in the password/ ],
	[ 'url bad port',       [ 'url', 'postgresql://h:54x/db', '--worker', 'gw1' ], qr/invalid port number/ ],
	[ 'fingerprint none',   ['fingerprint'],                 qr/no files or directories given/ ],
	[ 'bad --dsn',          [ '--dsn', 'mysql://h/db', 'list' ], qr/unsupported URL scheme "mysql"/ ],
);
for my $u (@usage)
{
	my ($name, $args, $msg) = @$u;
	my ($rc, $out, $err) = check("usage: $name", $args, 2, err => $msg);
	like($err, qr/^pg_mint: error: /, "usage: $name: error prefix");
	unlike($err, qr/s3cret/, "usage: $name: no password in the message");
	like($err, $try, "usage: $name: --help hint") unless $name =~ /^(url bad|fingerprint|bad --dsn)/;
}
check('usage: bad conninfo --dsn', [ '--dsn', 'host=x bogus_keyword=1', 'list' ], 2,
	err => qr/^pg_mint: error: invalid --dsn: invalid connection option "bogus_keyword"/);

# durations accepted
for my $d (qw(500ms 30s 2m 1h 1d 45 1.5 0))
{
	check("duration $d accepted", [ 'template', 't', '--timeout', $d, '-h', '/nonexistent', '--', 'true' ], 1,
		err => qr/could not connect/);
}

# URL rewriting: [input, arguments, expected]
my @urls = (
	[ 'postgresql+asyncpg://u:p@h:5432/app_test', [ '--worker', 'gw1' ], 'postgresql+asyncpg://u:p@h:5432/app_test_gw1' ],
	[ 'postgresql://u:p@h:5432/app_test', [ '--worker', 'gw1' ], 'postgresql://u:p@h:5432/app_test_gw1' ],
	[ 'postgres://h/app', [ '--worker', 'gw0' ], 'postgres://h/app_gw0' ],
	[ 'postgresql+psycopg://u:p@h/app', [ '--worker', 'gw2' ], 'postgresql+psycopg://u:p@h/app_gw2' ],
	[ 'postgresql+psycopg2://u@h/app?sslmode=require', [ '--worker', 'gw3' ], 'postgresql+psycopg2://u@h/app_gw3?sslmode=require' ],
	# IPv6 hosts, with and without port
	[ 'postgresql://u:p@[::1]:5433/app', [ '--worker', 'gw1' ], 'postgresql://u:p@[::1]:5433/app_gw1' ],
	[ 'postgresql://[2001:db8::7]/app', [ '--worker', 'gw1' ], 'postgresql://[2001:db8::7]/app_gw1' ],
	[ 'postgresql://[fe80::1%25eth0]:5432/app', [ '--worker', 'gw1' ], 'postgresql://[fe80::1%25eth0]:5432/app_gw1' ],
	# percent-encoded passwords (and user) survive byte for byte
	[ 'postgresql://us%40er:p%40ss%2Fw%3Ard%23@h:5432/app', [ '--worker', 'gw1' ], 'postgresql://us%40er:p%40ss%2Fw%3Ard%23@h:5432/app_gw1' ],
	[ 'postgresql://u:p%3Fq%26r@h/app?x=1', [ '--worker', 'gw1' ], 'postgresql://u:p%3Fq%26r@h/app_gw1?x=1' ],
	# query strings kept; dbname= parameters rewritten too
	[ 'postgresql://h/app?sslmode=disable&application_name=ci', [ '--worker', 'gw4' ], 'postgresql://h/app_gw4?sslmode=disable&application_name=ci' ],
	[ 'postgresql://h/app?dbname=app&connect_timeout=5', [ '--worker', 'gw4' ], 'postgresql://h/app_gw4?dbname=app_gw4&connect_timeout=5' ],
	[ 'postgresql://h?dbname=app', [ '--worker', 'gw4' ], 'postgresql://h/app_gw4?dbname=app_gw4' ],
	# unix-socket hosts: percent-encoded in the host, or as host= parameter
	[ 'postgresql://%2Fvar%2Frun%2Fpostgresql/app', [ '--worker', 'gw1' ], 'postgresql://%2Fvar%2Frun%2Fpostgresql/app_gw1' ],
	[ 'postgresql://%2Ftmp:5433/app', [ '--worker', 'gw1' ], 'postgresql://%2Ftmp:5433/app_gw1' ],
	[ 'postgresql:///app?host=/var/run/postgresql', [ '--worker', 'gw1' ], 'postgresql:///app_gw1?host=/var/run/postgresql' ],
	[ 'postgresql+psycopg2://u:p@/app?host=/tmp&port=5433', [ '--worker', 'gw1' ], 'postgresql+psycopg2://u:p@/app_gw1?host=/tmp&port=5433' ],
	# no port, no user, multiple hosts, host with empty port
	[ 'postgresql://localhost/app', [ '--worker', 'gw9' ], 'postgresql://localhost/app_gw9' ],
	[ 'postgresql://h1:5432,h2:5433/app?target_session_attrs=read-write', [ '--worker', 'gw1' ], 'postgresql://h1:5432,h2:5433/app_gw1?target_session_attrs=read-write' ],
	[ 'postgresql://h:/app', [ '--worker', 'gw1' ], 'postgresql://h:/app_gw1' ],
	# URL without database: --base, or --database
	[ 'postgresql://u:p@h:5432', [ '--worker', 'gw1', '--base', 'app' ], 'postgresql://u:p@h:5432/app_gw1' ],
	[ 'postgresql://u:p@h:5432/', [ '--database', 'other' ], 'postgresql://u:p@h:5432/other' ],
	[ 'postgresql://h/app', [ '--database', 'my db/é' ], 'postgresql://h/my%20db%2F%C3%A9' ],
	[ 'postgresql://h/app', [ '--worker', 'gw1', '--base', 'base' ], 'postgresql://h/base_gw1' ],
	[ 'postgresql://h/app', [ '--worker', '' ], 'postgresql://h/app' ],
	# percent-encoded database name is decoded before naming
	[ 'postgresql://h/my%2Dapp', [ '--worker', 'gw1' ], 'postgresql://h/my-app_gw1' ],
	# libpq conninfo strings: a later dbname wins
	[ 'host=/tmp dbname=app user=u', [ '--worker', 'gw1' ], "host=/tmp dbname=app user=u dbname='app_gw1'" ],
);
for my $u (@urls)
{
	my ($in, $args, $want) = @$u;
	my ($rc, $out, $err) = pgm([ 'url', $in, @$args ]);
	is($rc, 0, "url $in @$args: exit 0") or diag($err);
	is($out, "$want\n", "url $in @$args");
}

# ---------------------------------------------------------------------------
# fingerprint: independent computation of the documented format
# ---------------------------------------------------------------------------

my $mig = "$tmp/proj/migrations";
make_path("$mig/versions/__pycache__", "$mig/.git", "$tmp/elsewhere");
sub write_file { my ($f, $c) = @_; open my $fh, '>', $f or die "$f: $!"; print $fh $c; close $fh; }
write_file("$mig/001_init.sql", "CREATE TABLE a (id int);\n");
write_file("$mig/versions/002_b.py", "op.create_table('b')\n");
write_file("$mig/versions/__pycache__/002_b.cpython-311.pyc", "bytecode");
write_file("$mig/.git/HEAD", "ref");
write_file("$mig/.hidden", "x");
write_file("$tmp/proj/alembic.ini", "[alembic]\n");

sub expected_fp
{
	my (@entries) = @_;    # [key, content]
	my $sha = Digest::SHA->new(256);
	for my $e (sort { $a->[0] cmp $b->[0] } @entries)
	{
		$sha->add($e->[0], "\0", length($e->[1]), "\0", $e->[1]);
	}
	return $sha->hexdigest;
}
my $fp1 = expected_fp(
	[ 'migrations/001_init.sql', "CREATE TABLE a (id int);\n" ],
	[ 'migrations/versions/002_b.py', "op.create_table('b')\n" ],
	[ 'alembic.ini', "[alembic]\n" ]);
check('fingerprint matches the documented format', [ 'fingerprint', $mig, "$tmp/proj/alembic.ini" ], 0,
	out => qr/^$fp1\n\z/);
check('fingerprint independent of argument order', [ 'fingerprint', "$tmp/proj/alembic.ini", $mig ], 0,
	out => qr/^$fp1\n\z/);
{
	# independent of the current directory and of how the path is spelled
	my ($out, $err) = ('', '');
	IPC::Run::run([ $pg_mint, 'fingerprint', 'migrations', './alembic.ini' ], '>', \$out, '2>', \$err,
		init => sub { chdir "$tmp/proj" or die });
	is($out, "$fp1\n", 'fingerprint with relative paths from another cwd');
}
write_file("$mig/versions/__pycache__/other.pyc", "more bytecode");
write_file("$mig/.swp", "editor");
check('fingerprint ignores __pycache__ and dot files', [ 'fingerprint', $mig, "$tmp/proj/alembic.ini" ], 0,
	out => qr/^$fp1\n\z/);
write_file("$mig/versions/003_c.py", "op.create_table('c')\n");
my ($rc_fp, $fp2) = pgm([ 'fingerprint', $mig, "$tmp/proj/alembic.ini" ]);
isnt($fp2, "$fp1\n", 'fingerprint changes when a file is added (recursively)');
rename("$mig/versions/003_c.py", "$mig/versions/004_c.py");
my (undef, $fp3) = pgm([ 'fingerprint', $mig, "$tmp/proj/alembic.ini" ]);
isnt($fp3, $fp2, 'fingerprint changes when a file is renamed');
write_file("$mig/versions/004_c.py", "op.create_table('cc')\n");
my (undef, $fp4) = pgm([ 'fingerprint', $mig, "$tmp/proj/alembic.ini" ]);
isnt($fp4, $fp3, 'fingerprint changes when a file is edited');
check('fingerprint of a missing path', [ 'fingerprint', "$tmp/nope" ], 2,
	err => qr/^pg_mint: error: could not read ".*nope": No such file or directory/);

# ---------------------------------------------------------------------------
# connection problems and a missing extension
# ---------------------------------------------------------------------------

check('unreachable server', [ '-h', "$tmp/nosocket", 'list' ], 1,
	err => qr/^pg_mint: error: could not connect to the maintenance database: .*\npg_mint: hint: /s);
check('unreachable server (--dsn with password)', [ '--dsn', "postgresql://u:s3cret\@%2Fnonexistent%2Fdir/x", 'list' ], 1,
	err => qr/could not connect/, err_not => qr/s3cret/);
check('extension not installed', [ '-d', 'template1', 'list' ], 1,
	err => qr/^pg_mint: error: extension "pg_mint" is not installed in database "template1"\npg_mint: hint: .*CREATE EXTENSION pg_mint/s);
check('doctor: extension missing', [ '-d', 'template1', 'doctor' ], 1,
	out => qr/^FAIL  extension pg_mint is not installed in database "template1"\n      fix: psql -d template1 -c 'CREATE EXTENSION pg_mint'/m);
check('doctor: unreachable', [ '-h', "$tmp/nosocket", 'doctor' ], 1,
	out => qr/^FAIL  connection to the maintenance database: .*\n      fix: /m);

$node->safe_psql('postgres', 'CREATE EXTENSION pg_mint');

check('doctor: all good', ['doctor'], 0,
	out => qr/^ok    connected to database "postgres".*^ok    extension pg_mint \d.*^ok    role "\Q$osuser\E" is a superuser.*^ok    \d+ of \d+ background worker slots free.*^ok    no templates yet.*pg_mint can be used\n\z/ms);
$node->safe_psql('postgres', 'CREATE ROLE weak LOGIN');
check('doctor: no CREATEDB', [ '-U', 'weak', 'doctor' ], 1,
	out => qr/^FAIL  role "weak" may not create databases \(no CREATEDB\)\n      fix: as a superuser: ALTER ROLE "weak" CREATEDB;/m);
check('list: empty', [ 'list', '--json' ], 0, out => qr/^\[\]\n\z/);

# ---------------------------------------------------------------------------
# template: build, ready, environment, fingerprints, failure
# ---------------------------------------------------------------------------

my $envfile = "$tmp/template_env";
my ($rc, $out, $err) = check('template builds',
	[ 'template', 'app_tpl', '--fingerprint', 'v1', '--',
	  'sh', '-c', "echo \"\$PGDATABASE|\$PGHOST|\$PGPORT|\$DATABASE_URL\" > $envfile; psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE t (x int)'" ],
	0, err => qr/^pg_mint: building app_tpl: running sh\npg_mint: built app_tpl in \d+\.\d\d s\n\z/,
	env => { DATABASE_URL => 'postgresql+asyncpg://app:pw%40x@db.example:6543/app_test?ssl=require' });
is(slurp_file($envfile),
	"app_tpl|" . $node->host . "|" . $node->port . "|postgresql+asyncpg://app:pw%40x\@db.example:6543/app_tpl?ssl=require\n",
	'template: COMMAND sees PGDATABASE, connection variables and DATABASE_URL rewritten');
unlink $envfile;
check('template ready: COMMAND not run', [ 'template', 'app_tpl', '--fingerprint', 'v1', '--', 'sh', '-c', "touch $envfile" ], 0,
	err => qr/^pg_mint: app_tpl is ready\n\z/);
ok(!-e $envfile, 'template ready: COMMAND did not run');
check('template quiet', [ '-q', 'template', 'app_tpl', '--fingerprint', 'v1', '--', 'false' ], 0, err => qr/^\z/);

# --fingerprint-files: rebuilt exactly when the files change
my $builds = "$tmp/builds";
my @fpcmd = ('template', 'files_tpl', '--fingerprint-files', $mig, "$tmp/proj/alembic.ini", '--', 'sh', '-c', "echo x >> $builds");
check('fingerprint-files: first build', \@fpcmd, 0, err => qr/built files_tpl/);
check('fingerprint-files: unchanged -> ready', \@fpcmd, 0, err => qr/files_tpl is ready/);
write_file("$mig/versions/005_d.py", "op.create_table('d')\n");
check('fingerprint-files: changed -> rebuilt', \@fpcmd, 0, err => qr/built files_tpl/);
is(slurp_file($builds), "x\nx\n", 'fingerprint-files: COMMAND ran exactly twice');
my (undef, $fp5) = pgm([ 'fingerprint', $mig, "$tmp/proj/alembic.ini" ]);
chomp $fp5;
is(q1("SELECT fingerprint FROM mint.databases WHERE datname = 'files_tpl'"), $fp5,
	'fingerprint-files: the fingerprint stored is the one pg_mint fingerprint prints');
check('fingerprint-files + --fingerprint', [ 'template', 'files_tpl', '--fingerprint', 'pg15', '--fingerprint-files', $mig, "$tmp/proj/alembic.ini", '--', 'true' ], 0,
	err => qr/built files_tpl/);
is(q1("SELECT fingerprint FROM mint.databases WHERE datname = 'files_tpl'"), "pg15:$fp5",
	'fingerprint is STR:HASH when both are given');
check('fingerprint-files: missing path', [ 'template', 'x_tpl', '--fingerprint-files', "$tmp/nope", '--', 'true' ], 2,
	err => qr/could not read/);

# a failing COMMAND aborts; the next call builds again
check('template: COMMAND fails',
	[ 'template', 'fail_tpl', '--', 'sh', '-c', "psql -X -q -c 'CREATE TABLE half (x int)'; exit 3" ], 3,
	err => qr/^pg_mint: error: build of fail_tpl failed: sh exited with status 3; template aborted$/m);
is(q1("SELECT count(*) FROM pg_database WHERE datname = 'fail_tpl'") + q1("SELECT count(*) FROM mint.databases WHERE datname = 'fail_tpl'"),
	0, 'template: failed build left no database');
is(mint_locks(), 0, 'template: failed build left no lock');
check('template: COMMAND not found', [ 'template', 'fail_tpl', '--', "$tmp/no-such-program" ], 127,
	err => qr/could not execute ".*no-such-program": No such file or directory.*template aborted/s);
check('template: COMMAND killed', [ 'template', 'fail_tpl', '--', 'sh', '-c', 'kill -KILL $$' ], 137,
	err => qr/sh was killed by signal 9; template aborted/);
check('template: next call builds again', [ 'template', 'fail_tpl', '--', 'sh', '-c', "psql -X -q -c 'CREATE TABLE whole (x int)'" ], 0,
	err => qr/built fail_tpl/);
is(q1("SELECT state FROM mint.databases WHERE datname = 'fail_tpl'"), 'ready', 'template: rebuilt template is ready');

# server errors carry message, SQLSTATE, detail/hint
check('template: server error', [ 'template', 'postgres', '--', 'true' ], 1,
	err => qr/^pg_mint: error: could not begin template "postgres": .* \(SQLSTATE [0-9A-Z]{5}\)$/m);

# ---------------------------------------------------------------------------
# clone, list, drop, gc
# ---------------------------------------------------------------------------

check('clone TARGET', [ 'clone', 'app_tpl', 'app_one' ], 0, out => qr/^app_one\n\z/, err => qr/cloned app_tpl into app_one/);
is($node->safe_psql('app_one', "SELECT count(*) FROM pg_class WHERE relname = 't'"), 1, 'clone has the template schema');
check('clone --base --worker', [ 'clone', 'app_tpl', '--base', 'app_test', '--worker', 'gw1' ], 0, out => qr/^app_test_gw1\n\z/);
check('clone worker from PYTEST_XDIST_WORKER', [ 'clone', 'app_tpl', '--base', 'app_test' ], 0,
	out => qr/^app_test_gw7\n\z/, env => { PYTEST_XDIST_WORKER => 'gw7' });
check('clone --base without worker is BASE', [ 'clone', 'app_tpl', '--base', 'app_test' ], 0, out => qr/^app_test\n\z/);
check('clone again replaces', [ 'clone', 'app_tpl', '--base', 'app_test', '--worker', 'gw1' ], 0, out => qr/^app_test_gw1\n\z/);
check('clone --print url', [ 'clone', 'app_tpl', '--base', 'app_test', '--worker', 'gw2', '--print', 'url' ], 0,
	out => qr{^postgresql\+psycopg://u:p%2Fw\@h:1/app_test_gw2\?sslmode=disable\n\z},
	env => { DATABASE_URL => 'postgresql+psycopg://u:p%2Fw@h:1/app_test?sslmode=disable' });
check('clone --print url --url', [ 'clone', 'app_tpl', '--base', 'app_test', '--worker', 'gw2', '--print=url', '--url', 'postgres://x@[::1]/a' ], 0,
	out => qr{^postgres://x\@\[::1\]/app_test_gw2\n\z});
($rc, $out) = check('clone --print env', [ 'clone', 'app_tpl', '--base', 'app_test', '--worker', "it's", '--print', 'env' ], 0,
	env => { DATABASE_URL => 'postgresql://u@h/app_test' });
is($out, "export DATABASE_URL='postgresql://u\@h/app_test_it%27s'\nexport PGDATABASE='app_test_it'\\''s'\n", 'clone --print env is shell-quoted');
{
	my ($o) = '';
	IPC::Run::run([ 'sh', '-c', 'eval "$1"; printf %s "$PGDATABASE"', 'sh', $out ], '>', \$o);
	is($o, "app_test_it's", 'clone --print env works with eval');
}
# long names: the CLI's offline rule equals the server's mint.worker_name
my $long = 'a_very_long_application_database_name_for_testing_shortening_rules';
my (undef, $url_long) = pgm([ 'url', "postgresql://h/$long", '--worker', 'gw12' ]);
my $srv_long = q1("SELECT mint.worker_name('$long', 'gw12')");
is($url_long, "postgresql://h/$srv_long\n", 'url --worker shortens names exactly like mint.worker_name');
check('clone long name', [ 'clone', 'app_tpl', '--base', $long, '--worker', 'gw12' ], 0, out => qr/^\Q$srv_long\E\n\z/);

check('clone: unknown template', [ 'clone', 'no_such_tpl', 'x1' ], 1,
	err => qr/^pg_mint: error: could not clone template "no_such_tpl": .* \(SQLSTATE [0-9A-Z]{5}\)$/m);
check('clone: target = template (hint)', [ 'clone', 'app_tpl', 'app_tpl' ], 1,
	err => qr/^pg_mint: error: could not clone template "app_tpl": template and target are the same database "app_tpl" \(SQLSTATE 22023\)\npg_mint: hint: Give the clone a name of its own/m);

($rc, $out) = check('list --json', [ 'list', '--json' ], 0);
my $list = decode_json($out);
my %by = map { $_->{datname} => $_ } @$list;
ok($by{app_tpl} && $by{app_one} && $by{app_test_gw1}, 'list --json has the templates and clones');
is_deeply([ sort keys %{ $by{app_one} } ],
	[ sort qw(datname kind template fingerprint state owner created_at size_bytes connections) ],
	'list --json: the keys of mint.databases');
is($by{app_one}{kind}, 'clone', 'list --json: kind');
is($by{app_one}{template}, 'app_tpl', 'list --json: template');
is($by{app_tpl}{template}, undef, 'list --json: null template for templates');
is($by{app_tpl}{fingerprint}, 'v1', 'list --json: fingerprint');
is($by{app_one}{owner}, $osuser, 'list --json: owner');
like($by{app_one}{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'list --json: created_at is ISO 8601 UTC');
ok($by{app_one}{size_bytes} > 0 && $out =~ /"size_bytes": \d+/, 'list --json: size_bytes is a number');
is($by{app_one}{connections}, 0, 'list --json: connections is a number');
is_deeply([ map { $_->{datname} } @$list ], [ sort map { $_->{datname} } @$list ], 'list --json: sorted by datname');
check('list (table)', ['list'], 0,
	out => qr/^name\s+kind\s+template\s+state\s+owner\s+size\s+conns\s+created\s+fingerprint\n-+.*^app_one\s+clone\s+app_tpl\s+ready\s+\Q$osuser\E\s.*^\(\d+ databases\)\n\z/ms);

check('drop', [ 'drop', 'app_one', 'never_existed' ], 0,
	err => qr/^pg_mint: dropped app_one\npg_mint: never_existed does not exist, skipped\n\z/);
is(q1("SELECT count(*) FROM pg_database WHERE datname = 'app_one'"), 0, 'drop removed the database');
$node->safe_psql('postgres', 'CREATE DATABASE plain_db');
check('drop: not a pg_mint database', [ 'drop', 'plain_db' ], 1,
	err => qr/^pg_mint: error: could not drop "plain_db": .* \(SQLSTATE [0-9A-Z]{5}\)$/m);
is(q1("SELECT count(*) FROM pg_database WHERE datname = 'plain_db'"), 1, 'drop left a foreign database alone');

check('gc --dry-run', [ 'gc', '--older-than', '0', '--dry-run' ], 0, out => qr/^app_test_gw1\tidle clone created /m,
	err => qr/dry run: \d+ databases would be dropped/);
is(q1("SELECT count(*) FROM pg_database WHERE datname = 'app_test_gw1'"), 1, 'gc --dry-run dropped nothing');
check('gc --older-than 1h keeps young clones', [ 'gc', '--older-than', '1h' ], 0, out => qr/^\z/, err => qr/dropped 0 databases/);
($rc, $out) = check('gc --older-than 0', [ 'gc', '--older-than=0s' ], 0, out => qr/^app_test_gw1$/m);
is(q1("SELECT count(*) FROM mint.databases WHERE kind = 'clone'"), 0, 'gc dropped every idle clone');
is(q1("SELECT count(DISTINCT version_of) FROM mint.databases WHERE kind = 'template'"), 3, 'gc kept the templates');
# files_tpl was built for three fingerprints: all three versions are kept
# (pg_mint.template_versions_kept, and they are younger than --older-than)
is(q1("SELECT count(*) FROM mint.databases WHERE kind = 'template'"), 5, 'gc kept every version of files_tpl');

# ---------------------------------------------------------------------------
# connection sources: DATABASE_URL fallback, --dsn (+driver), PG_MINT_DSN
# ---------------------------------------------------------------------------

my $sock = $node->host;
(my $esock = $sock) =~ s{/}{%2F}g;
my $port = $node->port;
my %nolibpq = (PGHOST => undef, PGPORT => undef, PGUSER => undef);
check('DATABASE_URL fallback (socket in host, +driver)', [ 'clone', 'app_tpl', '--base', 'app_test', '--worker', 'gw3', '--print', 'url' ], 0,
	out => qr{^postgresql\+asyncpg://\Q$osuser\E\@\Q$esock\E:$port/app_test_gw3\n\z},
	env => { %nolibpq, DATABASE_URL => "postgresql+asyncpg://$osuser\@$esock:$port/app_test" });
check('DATABASE_URL fallback (host= parameter, unknown driver parameter)', [ 'list', '--json' ], 0,
	out => qr/"app_test_gw3"/, err => qr/warning: ignoring URL parameter "prepared_statement_cache_size"/,
	env => { %nolibpq, DATABASE_URL => "postgresql+psycopg://$osuser\@/app_test?host=$sock&port=$port&prepared_statement_cache_size=0" });
check('DATABASE_URL is ignored when PGHOST says where', [ 'list', '--json' ], 0,
	env => { DATABASE_URL => "postgresql://nobody\@%2Fnonexistent/app_test" });
check('--dsn URL with +driver', [ '--dsn', "postgresql+psycopg2://$osuser\@$esock:$port/postgres", 'list', '--json' ], 0,
	out => qr/"app_test_gw3"/, env => \%nolibpq);
check('--dsn conninfo after the command', [ 'list', '--json', '--dsn', "host=$sock port=$port" ], 0,
	out => qr/"app_test_gw3"/, env => \%nolibpq);
check('--dsn naming a database without pg_mint', [ '--dsn', "host=$sock port=$port dbname=template1", 'list' ], 1,
	err => qr/not installed in database "template1"/, env => \%nolibpq);
check('-d overrides the --dsn database', [ '--dsn', "host=$sock port=$port dbname=template1", '-d', 'postgres', 'list' ], 0,
	env => \%nolibpq);
check('PG_MINT_DSN', [ 'list', '--json' ], 0, out => qr/"app_test_gw3"/,
	env => { %nolibpq, PG_MINT_DSN => "postgresql://$esock:$port" });
check('PG_MINT_DSN overrides -h', [ '-h', "$tmp/nosocket", 'list', '--json' ], 0,
	env => { %nolibpq, PG_MINT_DSN => "postgresql://$esock:$port" });
check('-h -p options', [ '-h', $sock, '-p', $port, 'list', '--json' ], 0, env => \%nolibpq);
check('--host= --port= long options before the command', [ "--host=$sock", "--port=$port", 'drop', 'app_test_gw3' ], 0,
	env => \%nolibpq);

# ---------------------------------------------------------------------------
# run: environment, exit statuses, signals, --keep
# ---------------------------------------------------------------------------

($rc, $out) = check('run: exit status', [ 'run', 'app_tpl', '--base', 'app_run', '--worker', 'gw5', '--',
	  'sh', '-c', 'echo "$PGDATABASE|$DATABASE_URL"; psql -X -At -c "SELECT current_database()"; exit 7' ], 7,
	err => qr/cloned app_tpl into app_run_gw5.*dropped app_run_gw5/s,
	env => { DATABASE_URL => 'postgresql+asyncpg://u:p@h/app_run' });
is($out, "app_run_gw5|postgresql+asyncpg://u:p\@h/app_run_gw5\napp_run_gw5\n", 'run: COMMAND runs against the clone');
is(q1("SELECT count(*) FROM pg_database WHERE datname = 'app_run_gw5'"), 0, 'run: clone dropped afterwards');
check('run: success', [ 'run', 'app_tpl', '--base', 'app_run', '--', 'true' ], 0);
check('run: COMMAND killed by SIGTERM', [ 'run', 'app_tpl', '--base', 'app_run', '--', 'sh', '-c', 'kill -TERM $$' ], 143,
	err => qr/sh was killed by signal 15/);
check('run: COMMAND killed by SIGKILL', [ 'run', 'app_tpl', '--base', 'app_run', '--', 'sh', '-c', 'kill -KILL $$' ], 137);
check('run: COMMAND not found', [ 'run', 'app_tpl', '--base', 'app_run', '--', "$tmp/nope" ], 127);
check('run --keep', [ 'run', 'app_tpl', 'kept_db', '--keep', '--', 'true' ], 0, err => qr/kept kept_db/);
is(q1("SELECT count(*) FROM mint.databases WHERE datname = 'kept_db'"), 1, 'run --keep kept the clone');
is(q1("SELECT count(*) FROM mint.databases WHERE datname LIKE 'app_run%'"), 0, 'run dropped every clone');
{
	# a signal sent to pg_mint alone reaches COMMAND; the clone is dropped
	my ($o, $e) = ('', '');
	my $started = "$tmp/run_started";
	my $h = pgm_start([ 'run', 'app_tpl', '--base', 'app_sig', '--', 'sh', '-c', "touch $started; exec sleep 60" ], \$o, \$e);
	wait_until('run COMMAND started', sub { -e $started });
	$h->signal('TERM');
	is(finish_rc($h), 143, 'run: SIGTERM to pg_mint -> COMMAND killed, exit 143');
	is(q1("SELECT count(*) FROM pg_database WHERE datname = 'app_sig'"), 0, 'run: clone dropped after the signal');
}

# ---------------------------------------------------------------------------
# concurrency: two template builds at once; --timeout; Ctrl-C while waiting
# ---------------------------------------------------------------------------
{
	my $fifo = "$tmp/release";
	my $a_started = "$tmp/a_started";
	my $b_ran = "$tmp/b_ran";
	mkfifo($fifo, 0600) or die "mkfifo: $!";
	my ($ao, $ae, $bo, $be, $co, $ce, $do, $de) = ('') x 8;

	my $a = pgm_start([ 'template', 'conc_tpl', '--', 'sh', '-c',
		"touch $a_started; read x < $fifo; psql -X -q -c 'CREATE TABLE built_by_a (x int)'" ], \$ao, \$ae);
	wait_until('builder A runs its COMMAND', sub { -e $a_started });

	my $b = pgm_start([ 'template', 'conc_tpl', '--', 'sh', '-c', "touch $b_ran" ], \$bo, \$be);
	wait_until('B waits for A', sub { lock_waiters() == 1 });

	# --timeout while A builds
	my $t0 = time;
	check('template --timeout while another builds', [ 'template', 'conc_tpl', '--timeout', '300ms', '--', 'true' ], 1,
		err => qr/^pg_mint: error: timed out after 300ms waiting for template "conc_tpl"\npg_mint: hint: /m);
	ok(time - $t0 < 30, 'template --timeout returned promptly');

	# Ctrl-C while waiting in template_begin: the server call is cancelled
	my $c = pgm_start([ 'template', 'conc_tpl', '--', 'true' ], \$co, \$ce);
	wait_until('C waits too', sub { lock_waiters() == 2 });
	$c->signal('INT');
	is(finish_rc($c), 130, 'template: SIGINT while waiting -> exit 130');
	like($ce, qr/interrupted by signal 2 before template "conc_tpl" was built/, 'template: SIGINT while waiting: message');
	wait_until('C\'s server call is gone', sub { lock_waiters() == 1 });

	# Ctrl-C during clone: the server call (waiting for the build) is cancelled
	my $d = pgm_start([ 'clone', 'conc_tpl', 'conc_clone' ], \$do, \$de);
	wait_until('the clone waits for the build', sub { lock_waiters() == 2 });
	$d->signal('INT');
	is(finish_rc($d), 130, 'clone: SIGINT -> exit 130');
	like($de, qr/^pg_mint: error: interrupted by signal 2: the clone of "conc_tpl" was canceled/m, 'clone: SIGINT: message');
	wait_until('the clone\'s server call is gone', sub { lock_waiters() == 1 });
	is(q1("SELECT count(*) FROM pg_database WHERE datname = 'conc_clone'"), 0, 'clone: canceled clone made nothing');

	# release A
	open my $w, '>', $fifo or die "open fifo: $!";
	print $w "go\n";
	close $w;
	is(finish_rc($a), 0, 'builder A: exit 0');
	like($ae, qr/built conc_tpl in/, 'builder A: built');
	is(finish_rc($b), 0, 'waiter B: exit 0');
	like($be, qr/^pg_mint: conc_tpl is ready( \(waited \d+\.\d\d s for another build\))?\n\z/, 'waiter B: reports ready');
	ok(!-e $b_ran, 'waiter B: did not run its COMMAND');
	is(mint_locks(), 0, 'no pg_mint lock left');
	check('clone of the concurrently built template', [ 'clone', 'conc_tpl', 'conc_clone' ], 0);
	is($node->safe_psql('conc_clone', "SELECT count(*) FROM pg_class WHERE relname = 'built_by_a'"), 1,
		'clone has what builder A built');
}

# ---------------------------------------------------------------------------
# Ctrl-C during a build: aborted, no lock, no half-built template
# ---------------------------------------------------------------------------
{
	my ($o, $e) = ('', '');
	my $started = "$tmp/sig_started";
	my $h = pgm_start([ 'template', 'sig_tpl', '--', 'sh', '-c',
		"psql -X -q -c 'CREATE TABLE half (x int)' && touch $started && exec sleep 60" ], \$o, \$e);
	wait_until('build COMMAND started', sub { -e $started });
	is(q1("SELECT state FROM mint.databases WHERE datname = 'sig_tpl'"), 'building', 'template is building');
	ok(mint_locks() > 0, 'build lock held while building');
	$h->signal('INT');
	is(finish_rc($h), 130, 'template: SIGINT during the build -> exit 130');
	like($e, qr/^pg_mint: error: build of sig_tpl interrupted by signal 2; template aborted$/m, 'template: SIGINT: message');
	is(mint_locks(), 0, 'template: SIGINT: lock released');
	is(q1("SELECT count(*) FROM pg_database WHERE datname = 'sig_tpl'"), 0, 'template: SIGINT: no half-built database');
	is(q1("SELECT count(*) FROM mint.registry WHERE datname = 'sig_tpl'"), 0, 'template: SIGINT: no registry entry');
	check('template after SIGINT builds again', [ 'template', 'sig_tpl', '--', 'true' ], 0, err => qr/built sig_tpl/);
}

# doctor sees the templates
check('doctor: templates', ['doctor'], 0, out => qr/^ok    template app_tpl is ready/m);
{
	# a session on a ready template is a warning, not a failure
	$node->safe_psql('postgres', "ALTER DATABASE fail_tpl ALLOW_CONNECTIONS true");
	my ($i, $o, $e) = ('', '', '');
	my $h = IPC::Run::start([ 'psql', '-X', '-d', 'fail_tpl', '-c', 'SELECT pg_sleep(60)' ], '<', \$i, '>', \$o, '2>', \$e);
	wait_until('a session sits on fail_tpl', sub { q1("SELECT count(*) FROM pg_stat_activity WHERE datname = 'fail_tpl'") == 1 });
	check('doctor: session on a template', ['doctor'], 0,
		out => qr/^WARN  template fail_tpl is ready but 1 session is connected to it.*\n      fix: SELECT pg_terminate_backend\(pid\) FROM pg_stat_activity WHERE datname = 'fail_tpl';/m);
	$h->kill_kill;
	$node->safe_psql('postgres', "ALTER DATABASE fail_tpl ALLOW_CONNECTIONS false");
}

$node->stop;
done_testing();
