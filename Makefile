# pg_mint -- top-level Makefile (PGXS).  Builds the extension and the CLI.
#
#   make                 build extension (pg_mint.so) and CLI (cli/pg_mint)
#   make install         install both (CLI and its man page: `pg_config --bindir`, `--mandir`)
#   make installcheck    pg_regress + isolation suites against a running server
#   make test            everything, from a fresh machine, on a throwaway cluster
#   make bench-check     benchmark smoke run (bench/run --quick, no numbers checked)
#   make demo            build a template once and clone it for 4 workers
#   make bench           benchmarks (bench/run; BENCH_ARGS="--sizes 14,85 ..." passes options),
#                        then the one-server load test (bench/shared_server; SHARED_SERVER_ARGS)
#   make test-matrix     build and test on PostgreSQL 13..18 (tests/matrix)

EXTENSION  = pg_mint
MODULE_big = pg_mint
EXT_VERSION = 1.3
OBJS = \
	extension/pg_mint.o \
	extension/names.o \
	extension/objects.o \
	extension/guard.o \
	extension/locks.o \
	extension/registry.o \
	extension/launcher.o \
	extension/worker.o \
	extension/ops.o \
	extension/blockers.o \
	extension/pool.o \
	extension/reflink.o \
	extension/autostrategy.o \
	extension/exec.o \
	extension/spawn.o \
	extension/checks.o \
	extension/versions.o \
	extension/steps.o \
	extension/refill.o \
	extension/worker_name.o \
	extension/sha256.o \
	extension/prefault.o \
	extension/admission.o \
	extension/quota.o \
	extension/leases.o
DATA = $(wildcard sql/pg_mint--*.sql)
PGFILEDESC = "pg_mint - per-worker test databases cloned from a template"

REGRESS = $(basename $(notdir $(sort $(wildcard tests/regress/sql/*.sql))))
REGRESS_OPTS = --inputdir=tests/regress --outputdir=tests/regress
ISOLATION = $(basename $(notdir $(sort $(wildcard tests/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=tests/isolation --outputdir=tests/isolation/output_iso

# Warnings are errors on our own code; `make WERROR=` to relax for a new compiler.
WERROR ?= -Werror
PG_CFLAGS = -Wall $(WERROR) -DMINT_VERSION='"$(EXT_VERSION)"'

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)

# every extension object depends on the shared headers
$(OBJS): extension/pg_mint.h extension/compat.h extension/worker_name.h extension/sha256.h

# ---- the pg_mint CLI (libpq) ----------------------------------------------
CLI_SRCS = $(sort $(wildcard cli/*.c)) extension/worker_name.c extension/sha256.c
CLI_HDRS = $(wildcard cli/*.h) extension/worker_name.h extension/sha256.h
CLI_CFLAGS = -O2 -g -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(WERROR) \
	-I$(shell $(PG_CONFIG) --includedir) -Iextension -DMINT_VERSION='"$(EXT_VERSION)"'
CLI_LDFLAGS = -L$(shell $(PG_CONFIG) --libdir) -lpq

# `make NO_CLI=1 install` builds and installs the extension alone
ifndef NO_CLI
all: cli/pg_mint
install: install-cli
endif

cli/pg_mint: $(CLI_SRCS) $(CLI_HDRS)
	$(CC) $(CLI_CFLAGS) -o $@ $(CLI_SRCS) $(CLI_LDFLAGS)

# the man page goes where the server's own are (`pg_config --mandir`);
# `make MINT_MANDIR=/usr/local/share/man install` puts it on man's default path
MINT_MANDIR ?= $(mandir)

install-cli: cli/pg_mint
	$(MKDIR_P) '$(DESTDIR)$(bindir)' '$(DESTDIR)$(MINT_MANDIR)/man1'
	$(INSTALL_PROGRAM) cli/pg_mint '$(DESTDIR)$(bindir)/pg_mint'
	$(INSTALL_DATA) cli/pg_mint.1 '$(DESTDIR)$(MINT_MANDIR)/man1/pg_mint.1'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_mint' '$(DESTDIR)$(MINT_MANDIR)/man1/pg_mint.1'

clean: clean-cli
clean-cli:
	rm -f cli/pg_mint
	rm -rf tests/regress/results tests/regress/regression.* tests/isolation/output_iso

else
# no PostgreSQL development files yet: `make test` installs them first
all install installcheck:
	@echo "pg_config not found: apt-get install postgresql-server-dev-15 libpq-dev (or set PG_CONFIG)"; exit 1
endif

.PHONY: test bench-check test-matrix demo bench install-cli uninstall-cli clean-cli
# TAP (tests/t) runs from tests/run and tests/matrix, not through PGXS's
# TAP_TESTS: that would add ~15 minutes of private clusters to
# `make installcheck` against a running server, its prove_installcheck wipes
# tmp_check on each call (tests/run calls prove twice: files in parallel,
# then the ones marked to run alone), and it would load the test modules of
# the pg_config's major, while tests/matrix drives every major with 15's.
test:
	bash tests/run

# tests/bench_check/*.sh the way `make test` runs its suites (build, install,
# throwaway cluster, "N passed, N failed"); not part of `make test`
bench-check:
	MINT_TEST_ONLY=bench bash tests/run

# MAJORS="13 17" to pick majors; see tests/matrix for the details
test-matrix:
	bash tests/matrix $(MAJORS)

demo:
	bash examples/demo/run

bench:
	bash bench/run $(BENCH_ARGS)
	bash bench/shared_server $(SHARED_SERVER_ARGS)
