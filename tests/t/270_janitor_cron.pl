# tests/t/270_janitor_cron.pl -- the janitor recipe of docs/shared-server.md:
# pg_cron (shared_preload_libraries = 'pg_cron', cron.database_name) runs
# mint.janitor() (mint.gc() in a background worker of its own) on a schedule,
# and a clone whose lease expired is dropped by that job, with nobody calling
# pg_mint.  The job must not wait for the drops: pg_cron before 1.6.3 (Debian
# 12 has 1.4.2) does not absorb DROP DATABASE's ProcSignalBarrier while one
# of its jobs runs (pg_cron issue 318), so a job running mint.gc() itself
# would wait for DROP DATABASE, which waits for pg_cron, forever.  The schedule is '5 seconds' where pg_cron
# supports it (1.5 and later), else every minute ('* * * * *', Debian 12's
# 1.4): the test polls with a deadline, it does not sleep.
#
# Skipped when pg_cron is not installed for the server under test (the
# matrix's other majors).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => "pg_cron is not installed in $pkglibdir" unless -e "$pkglibdir/pg_cron.so";

my $node = PostgreSQL::Test::Cluster->new('janitor_cron');
$node->init;
# pg_cron connects to the server to run a job: through the test's socket
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_cron'\n"
	  . "cron.database_name = 'postgres'\n"
	  . "cron.host = '" . $node->host . "'\n"
	  . "max_worker_processes = 16\n");
$node->start;
val($node, 'CREATE EXTENSION pg_mint');
val($node, 'CREATE EXTENSION pg_cron');
my $cron_version = val($node, "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'");
note("pg_cron $cron_version");

val($node, 'CREATE ROLE ci LOGIN CREATEDB');
my $schema = 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);';
is(build_template($node, 'app_tpl', 'v1', $schema, user => 'ci'), 'build', 'ci builds app_tpl');
is(val($node, "SELECT mint.clone('app_tpl', 'job_gw0', ttl => '1 second')", user => 'ci'), 'job_gw0', 'a clone with a 1 s lease');
is(val($node, "SELECT mint.clone('app_tpl', 'job_keep', ttl => '1 day')", user => 'ci'), 'job_keep', 'a clone with a 1 day lease');
is(val($node, "SELECT mint.clone('app_tpl', 'plain')", user => 'ci'), 'plain', 'a clone without lease');

# the recipe: one job, as the superuser, in the database of pg_mint
my $every = '5 seconds';
my ($out, $err) = ('', '');
$node->psql('postgres', "SELECT cron.schedule('pg_mint_janitor', '$every', 'SELECT mint.janitor()')",
	stdout => \$out, stderr => \$err);
if ($err =~ /ERROR/)
{
	$every = '* * * * *';
	val($node, "SELECT cron.schedule('pg_mint_janitor', '$every', 'SELECT mint.janitor()')");
}
note("schedule: $every");
is(val($node, "SELECT count(*) FROM cron.job WHERE jobname = 'pg_mint_janitor'"), '1', 'the janitor job is scheduled');

is(poll_until($node, "SELECT count(*) FROM pg_database WHERE datname = 'job_gw0'", '0', 150), '0',
	'the janitor dropped the expired lease (deadline 150 s)');
is(poll_until($node, "SELECT count(*) > 0 FROM cron.job_run_details WHERE status = 'succeeded'", 't', 30), 't',
	'pg_cron recorded a successful run');
# the drop did not leave anyone waiting for pg_cron's launcher
is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg\\_mint%' AND state = 'active'", '0', 30), '0',
	'no pg_mint worker is left waiting');
is(val($node, "SELECT string_agg(datname, ',' ORDER BY datname) FROM mint.databases WHERE kind = 'clone'"), 'job_keep,plain',
	'the running lease and the young clone without lease are kept');
cmp_ok(val($node, "SELECT leases_expired FROM mint.stats WHERE template = 'app_tpl'"), '==', 1, 'mint.stats counts the expired lease');

val($node, "SELECT cron.unschedule('pg_mint_janitor')");
$node->stop;
done_testing();
