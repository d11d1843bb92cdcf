# tests/t/016_cli_hostile.pl -- the pg_mint program against a hostile role.
#
# 1. search_path: a superuser runs pg_mint with a search_path that puts a
#    schema everybody may write to before pg_catalog
#    (PGOPTIONS='-c search_path=public,pg_catalog').  Role "mallory"
#    (LOGIN CREATEDB) has planted, in public, twins of pg_catalog's binary
#    operators on the types pg_mint's SQL compares (name, text, oid,
#    integer, bigint, boolean, timestamptz, interval, and mixed name/text)
#    and functions shadowing to_char, clock_timestamp and now.  Every trap
#    logs to public.trap_log and tries ALTER ROLE mallory SUPERUSER.  Every
#    command that connects (list, list --json, doctor, gc --dry-run, gc,
#    clone, run, drop, template building / ready / failing, and the
#    "extension not installed" path) must fire none of them.  A control
#    proves the traps fire for a plain psql query with that path, and the
#    COMMAND pg_mint runs still gets the user's own search_path.
# 2. names: mallory makes a template and a clone whose names hold a terminal
#    escape and a newline (and a fingerprint with escapes).  Plain-text
#    output of list, doctor and gc shows them escaped (\x1b, \n): no raw
#    control character, no faked line.  --json is unchanged; UTF-8 names
#    print unchanged.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/cli_helpers";
use CliUtil;
use IPC::Run;
use JSON::PP;

my $pg_mint = pg_mint_binary();

my $node = PostgreSQL::Test::Cluster->new('cli_hostile');
$node->init;
$node->start;

delete $ENV{$_}
  for qw(PGDATABASE PGSERVICE PGHOSTADDR DATABASE_URL PG_MINT_DSN PYTEST_XDIST_WORKER PGUSER PGOPTIONS);
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# the search_path of a careless superuser
my $evil_path = '-c search_path=public,pg_catalog';

# run pg_mint; returns (exit status, stdout, stderr); env => {K => V|undef}
sub pgm
{
	my ($args, %o) = @_;
	return run_pg_mint($pg_mint, $args, timeout => 120, %o);
}

sub check
{
	return check_pg_mint($pg_mint, @_);
}

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# ---------------------------------------------------------------------------
# the extension, the attacker and its traps
# ---------------------------------------------------------------------------

q1('CREATE EXTENSION pg_mint');
# a database without the extension, for the "not installed" paths
q1('CREATE DATABASE noext');
q1(q{
CREATE ROLE mallory LOGIN CREATEDB;
GRANT CREATE ON SCHEMA public TO PUBLIC;   -- the pre-15 default
});
$node->safe_psql('noext', 'GRANT CREATE ON SCHEMA public TO PUBLIC');

my $traps = q{
CREATE TABLE public.trap_log (who text, what text);
GRANT SELECT, INSERT, DELETE ON public.trap_log TO PUBLIC;
CREATE FUNCTION public.mint_trap(what text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  BEGIN
    INSERT INTO public.trap_log (who, what) VALUES (current_user, what);
  EXCEPTION WHEN others THEN NULL;
  END;
  BEGIN
    EXECUTE 'ALTER ROLE mallory SUPERUSER';
  EXCEPTION WHEN others THEN NULL;
  END;
END $f$;

-- twins of pg_catalog's binary operators on the types pg_mint compares
DO $d$
DECLARE o record; fn text;
BEGIN
  FOR o IN SELECT p.oid, p.oprname, p.oprleft::regtype AS l, p.oprright::regtype AS r,
                  p.oprresult::regtype AS res
             FROM pg_catalog.pg_operator p
            WHERE p.oprnamespace = 'pg_catalog'::regnamespace AND p.oprkind = 'b'
              AND p.oprname IN ('=', '<>', '<', '>', '<=', '>=', '+', '-', '~~')
              AND p.oprleft::regtype::text IN ('text', 'name', 'oid', 'integer', 'bigint',
                                             'boolean', 'timestamp with time zone', 'interval')
              AND p.oprright::regtype::text IN ('text', 'name', 'oid', 'integer', 'bigint',
                                              'boolean', 'timestamp with time zone', 'interval')
  LOOP
    fn := pg_catalog.format('public.trap_op_%s', o.oid);
    EXECUTE pg_catalog.format(
      'CREATE FUNCTION %s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS $x$ BEGIN PERFORM public.mint_trap(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $x$',
      fn, o.l, o.r, o.res, pg_catalog.format('operator %s(%s, %s)', o.oprname, o.l, o.r), o.oprname);
    EXECUTE pg_catalog.format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
                              o.oprname, o.l, o.r, fn);
  END LOOP;
END $d$;

-- functions shadowing pg_catalog's
CREATE FUNCTION public.to_char(timestamptz, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.mint_trap('to_char(timestamptz)'); RETURN pg_catalog.to_char($1, $2); END $f$;
CREATE FUNCTION public.to_char(timestamp, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.mint_trap('to_char(timestamp)'); RETURN pg_catalog.to_char($1, $2); END $f$;
CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.mint_trap('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END $f$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.mint_trap('now()'); RETURN pg_catalog.now(); END $f$;
};
$node->safe_psql($_, $traps, extra_params => [ '-U', 'mallory' ]) for qw(postgres noext);

is(q1(q{SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o
         JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
        WHERE n.nspname = 'public' AND o.oprname = '='
          AND (o.oprleft::regtype::text, o.oprright::regtype::text) IN
              (('name', 'name'), ('text', 'text'), ('oid', 'oid'), ('name', 'text'),
               ('text', 'name'), ('timestamp with time zone', 'timestamp with time zone'),
               ('integer', 'integer'))}),
	7, 'mallory planted = on (name,name), (text,text), (oid,oid), (name,text), (text,name), (timestamptz,timestamptz), (int,int)');

sub mallory_super
{
	return q1(q{SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'mallory'});
}

# what fired, in both databases with traps
sub trap_log
{
	my $sql = q{SELECT coalesce(pg_catalog.string_agg(DISTINCT what, '; '), '') FROM public.trap_log};
	return join('', map { $node->safe_psql($_, $sql) } qw(postgres noext));
}

sub trap_reset
{
	q1('ALTER ROLE mallory NOSUPERUSER');
	$node->safe_psql($_, 'DELETE FROM public.trap_log') for qw(postgres noext);
}

# no trap fired and mallory gained nothing; then back to a clean slate so
# that each command gets a verdict of its own
sub no_trap
{
	my ($name) = @_;
	is(trap_log(), '', "$name: no trap fired");
	is(mallory_super(), 'f', "$name: mallory is not a superuser");
	trap_reset();
}

is(mallory_super(), 'f', 'mallory starts without SUPERUSER');

# control: the traps fire for a plain query on that search_path
for my $db (qw(postgres noext))
{
	{
		local $ENV{PGOPTIONS} = $evil_path;
		my ($ret, $stdout, $stderr) = $node->psql($db,
			q{SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'plpgsql'});
		is($ret, 0, "control ($db): the query runs");
		is($stdout, '1', "control ($db): the query answers");
	}
	like(trap_log(), qr/operator =\(name, name\)/,
		"control ($db): the trap fired for a superuser's query with public before pg_catalog");
	is(mallory_super(), 't', "control ($db): the trap made mallory a superuser");
	trap_reset();
	is(mallory_super(), 'f', "control ($db): reset");
}

# ---------------------------------------------------------------------------
# 1. every connecting command, as the superuser, on the careless path
# ---------------------------------------------------------------------------

my %evil_env = (PGOPTIONS => $evil_path);

# template: builds (COMMAND runs with the user's own search_path), is ready,
# fails and aborts
my $pathfile = "$tmp/template_path";
check('template builds', [ 'template', 'tpl', '--fingerprint', 'v1', '--',
		'sh', '-c', "psql -X -A -t -c 'SHOW search_path' > $pathfile" ],
	0, err => qr/built tpl/, env => \%evil_env);
no_trap('template builds');
is(slurp_file($pathfile), "public,pg_catalog\n",
	'template: COMMAND connects with the user\'s search_path, not pg_mint\'s');
check('template ready', [ 'template', 'tpl', '--fingerprint', 'v1', '--', 'true' ], 0,
	err => qr/tpl is ready/, env => \%evil_env);
no_trap('template ready');
check('template trivial COMMAND', [ 'template', 'tpl2', '--', 'true' ], 0,
	err => qr/built tpl2/, env => \%evil_env);
no_trap('template trivial COMMAND');
check('template COMMAND fails', [ 'template', 'tpl_fail', '--', 'false' ], 1,
	err => qr/template aborted/, env => \%evil_env);
no_trap('template COMMAND fails');

# clone, run, drop
check('clone', [ 'clone', 'tpl', 'c1' ], 0, out => qr/^c1\n\z/, env => \%evil_env);
no_trap('clone');
check('clone --base --worker', [ 'clone', 'tpl', '--base', 'app', '--worker', 'gw1' ], 0,
	out => qr/^app_gw1\n\z/, env => \%evil_env);
no_trap('clone --base --worker');
unlink $pathfile;
check('run', [ 'run', 'tpl', 'r1', '--', 'sh', '-c', "psql -X -A -t -c 'SHOW search_path' > $pathfile" ], 0,
	err => qr/dropped r1/, env => \%evil_env);
no_trap('run');
is(slurp_file($pathfile), "public,pg_catalog\n",
	'run: COMMAND connects with the user\'s search_path, not pg_mint\'s');
check('drop', [ 'drop', 'app_gw1' ], 0, err => qr/dropped app_gw1/, env => \%evil_env);
no_trap('drop');

# list, doctor: there are rows for every operator and function to run on
check('list', ['list'], 0, out => qr/^c1 .*^tpl /ms, env => \%evil_env);
no_trap('list');
check('list --json', [ 'list', '--json' ], 0, out => qr/"datname": "c1"/, env => \%evil_env);
no_trap('list --json');
check('doctor', ['doctor'], 0, out => qr/^ok    template tpl is ready/m, env => \%evil_env);
no_trap('doctor');
# an old idle clone for doctor's leftover check and gc
q1(q{UPDATE mint.registry SET created_at = pg_catalog.now() - interval '2 hours' WHERE datname = 'c1'});
check('doctor: leftover clones', ['doctor'], 0, out => qr/^WARN  1 idle clone older than 1 hour/m, env => \%evil_env);
no_trap('doctor: leftover clones');

# the extension is missing: pg_available_extensions is asked
check('list: extension missing', [ '-d', 'noext', 'list' ], 1,
	err => qr/extension "pg_mint" is not installed in database "noext"/, env => \%evil_env);
no_trap('list: extension missing');
check('doctor: extension missing', [ '-d', 'noext', 'doctor' ], 1,
	out => qr/^FAIL  extension pg_mint is not installed/m, env => \%evil_env);
no_trap('doctor: extension missing');

check('gc --dry-run', [ 'gc', '--dry-run' ], 0, out => qr/^c1\t/m, env => \%evil_env);
no_trap('gc --dry-run');
check('gc', ['gc'], 0, out => qr/^c1\n/m, env => \%evil_env);
no_trap('gc');

# url is offline: nothing to resolve, but it must not mind the environment
check('url', [ 'url', 'postgresql://h/app', '--worker', 'gw1' ], 0,
	out => qr{^postgresql://h/app_gw1\n\z}, env => \%evil_env);
no_trap('url');

# ---------------------------------------------------------------------------
# 2. names with control characters, from another role
# ---------------------------------------------------------------------------

my $esc_db = "evil\e[2J\nfake line";
my $esc_tpl = "mal\e]0;pwned\a\ntpl";
$node->safe_psql('postgres', q{
SELECT mint.template_begin(E'mal\x1b]0;pwned\x07\ntpl', E'fp\x1b[31m\r\tX');
SELECT mint.template_finish(E'mal\x1b]0;pwned\x07\ntpl');
SELECT mint.clone(E'mal\x1b]0;pwned\x07\ntpl', E'evil\x1b[2J\nfake line');
}, extra_params => [ '-U', 'mallory' ]);
is(q1(q{SELECT pg_catalog.count(*) FROM mint.databases
         WHERE datname IN (E'evil\x1b[2J\nfake line', E'mal\x1b]0;pwned\x07\ntpl')}),
	2, 'mallory made a template and a clone with escapes and newlines in their names');

# a UTF-8 name for the control: multibyte characters print unchanged
my $utf8_name = "donn\xc3\xa9es_\xe6\x97\xa5\xe6\x9c\xac";
q1("SELECT mint.clone('tpl', '$utf8_name')");

my $escaped_db = 'evil\x1b[2J\nfake line';
my $escaped_tpl = 'mal\x1b]0;pwned\x07\ntpl';

my ($rc, $out, $err) = check('list with hostile names', ['list'], 0);
unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'list: no raw control character in the output');
unlike($out, qr/^fake line/m, 'list: no faked line');
like($out, qr/^\Q$escaped_db\E +clone +\Q$escaped_tpl\E +ready +mallory /m,
	'list: the clone\'s name and template shown escaped, on one line');
like($out, qr/^\Q$escaped_tpl\E +template +ready +mallory .*  fp\\x1b\[31m\\r\\tX$/m,
	'list: the template\'s name and fingerprint shown escaped');
like($out, qr/^\Q$utf8_name\E +clone +tpl +ready /m, 'list: a UTF-8 name prints unchanged');
like($out, qr/^\(5 databases\)\n\z/m, 'list: one line per database');
# the name column is as wide as the longest name as shown (bytes, as before)
{
	my @lines = split /\n/, $out;
	my $dashes = length((split /  /, $lines[1])[0]);
	my $wide = 0;
	for ($escaped_db, $escaped_tpl, $utf8_name, 'tpl', 'tpl2')
	{
		$wide = length($_) if length($_) > $wide;
	}
	is($dashes, $wide, 'list: the name column is as wide as the longest name as shown');
	is(substr($lines[2], $dashes, 2), '  ', 'list: rows line up with the header');
}

($rc, $out) = check('list --json with hostile names', [ 'list', '--json' ], 0);
like($out, qr/"datname": "evil\\u001b\[2J\\nfake line"/, 'list --json: JSON escapes, as before');
my %by = map { $_->{datname} => $_ } @{ JSON::PP->new->decode($out) };   # bytes, as the names here
ok($by{$esc_db} && $by{$esc_tpl} && $by{$utf8_name}, 'list --json: the names decode to the real ones');
is($by{$esc_db}{template}, $esc_tpl, 'list --json: the template decodes to the real name');

($rc, $out) = check('doctor with hostile names', ['doctor'], 0);
unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'doctor: no raw control character in the output');
like($out, qr/^ok    template \Q$escaped_tpl\E is ready/m, 'doctor: the template name shown escaped');

# a session on the hostile template: the WARN line and its fix quote the name
{
	my $allow = sub {
		q1(qq{DO \$\$ BEGIN EXECUTE pg_catalog.format('ALTER DATABASE %I ALLOW_CONNECTIONS $_[0]',
		        E'mal\\x1b]0;pwned\\x07\\ntpl'); END \$\$});
	};
	my ($sout, $serr) = ('', '');
	$allow->('true');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-U', 'mallory', '-d', $esc_tpl, '-c', 'SELECT pg_sleep(120)' ],
		'<', \'', '>', \$sout, '2>', \$serr, IPC::Run::timeout(180));
	my $deadline = time + 60;
	sleep 1 while time < $deadline
	  && q1(q{SELECT connections FROM mint.databases WHERE datname = E'mal\x1b]0;pwned\x07\ntpl'}) ne '1';
	($rc, $out) = check('doctor: session on the hostile template', ['doctor'], 0);
	unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'doctor: no raw control character in the WARN and fix lines');
	like($out, qr/^WARN  template \Q$escaped_tpl\E is ready but 1 session is connected to it/m,
		'doctor: WARN line with the name escaped');
	like($out, qr/^      fix: SELECT pg_terminate_backend\(pid\) FROM pg_stat_activity WHERE datname = '\Q$escaped_tpl\E';$/m,
		'doctor: fix line with the name escaped');
	q1(q{SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
	      WHERE datname = E'mal\x1b]0;pwned\x07\ntpl'});
	$h->finish;
	$deadline = time + 60;
	sleep 1 while time < $deadline
	  && q1(q{SELECT connections FROM mint.databases WHERE datname = E'mal\x1b]0;pwned\x07\ntpl'}) ne '0';
	$allow->('false');
}

($rc, $out, $err) = check('gc --dry-run with hostile names', [ 'gc', '--dry-run', '--older-than', '0' ], 0);
unlike($out, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'gc --dry-run: no raw control character but the tab');
like($out, qr/^\Q$escaped_db\E\t/m, 'gc --dry-run: the name shown escaped');
like($out, qr/^\Q$utf8_name\E\t/m, 'gc --dry-run: a UTF-8 name unchanged');
unlike($out, qr/^fake line/m, 'gc --dry-run: no faked line');

($rc, $out, $err) = check('gc with hostile names', [ 'gc', '--older-than', '0' ], 0);
unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'gc: no raw control character');
like($out, qr/^\Q$escaped_db\E$/m, 'gc: the dropped name shown escaped');
like($out, qr/^\Q$utf8_name\E$/m, 'gc: a UTF-8 name unchanged');
unlike($out, qr/^fake line/m, 'gc: no faked line');
is(q1(q{SELECT pg_catalog.count(*) FROM pg_catalog.pg_database WHERE datname = E'evil\x1b[2J\nfake line'}), 0,
	'gc: dropped the database with the hostile name');

is(trap_log(), '', 'no trap fired at all');
is(mallory_super(), 'f', 'mallory never became a superuser');

$node->stop;
done_testing();
