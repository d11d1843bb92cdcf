# pg_mint -- top-level Makefile (PGXS).  Builds the extension and the CLI.
#
#   make                 build extension (pg_mint.so) and CLI (cli/pg_mint)
#   make install         install both: the CLI (and its man page, `pg_config --mandir`) goes
#                        to `pg_config --bindir`, and a
#                        symlink to it into CLI_LINKDIR (/usr/local/bin; empty: none)
#   make uninstall       remove every file `make install` put there (same variables)
#   make dist            pg_mint-X.Y.Z.zip for PGXN (git archive of HEAD)
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
# the release (PGXN's X.Y.Z, the Debian upstream version): EXT_VERSION.patch
DIST_VERSION = $(EXT_VERSION).0
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

# Where `make install` puts a symlink to the CLI, so that `pg_mint` is on PATH
# (PostgreSQL's bindir is not on Debian/Ubuntu, /usr/lib/postgresql/NN/bin,
# nor on a source build's /usr/local/pgsql/bin); /usr/local/bin is where
# locally built programs go.  `make install CLI_LINKDIR=` installs no link;
# DESTDIR applies to the link as to every other file.
CLI_LINKDIR ?= /usr/local/bin

ifneq ($(PGXS),)
# `make install` and `make uninstall` are ours: they run PGXS's own in a
# sub-make (MINT_PGXS_INSTALL=1), then do the CLI and report what they did
ifndef MINT_PGXS_INSTALL
NO_INSTALL = 1
endif
include $(PGXS)

# every extension object depends on the shared headers
$(OBJS): extension/pg_mint.h extension/compat.h extension/worker_name.h extension/sha256.h

# ---- the pg_mint CLI (libpq) ----------------------------------------------
CLI_SRCS = $(sort $(wildcard cli/*.c)) extension/worker_name.c extension/sha256.c
CLI_HDRS = $(wildcard cli/*.h) extension/worker_name.h extension/sha256.h
CLI_CFLAGS = -O2 -g -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(WERROR) \
	-I$(shell $(PG_CONFIG) --includedir) -Iextension -DMINT_VERSION='"$(EXT_VERSION)"'
CLI_LDFLAGS = -L$(shell $(PG_CONFIG) --libdir) -lpq

# packagers' flags (debian/rules passes dpkg-buildflags' hardening flags)
CLI_EXTRA_CFLAGS ?=
CLI_EXTRA_LDFLAGS ?=

# `make NO_CLI=1 install` builds and installs the extension alone
ifndef NO_CLI
all: cli/pg_mint
endif

# (Makefile: EXT_VERSION is compiled in)
cli/pg_mint: $(CLI_SRCS) $(CLI_HDRS) Makefile
	$(CC) $(CLI_CFLAGS) $(CLI_EXTRA_CFLAGS) -o $@ $(CLI_SRCS) $(CLI_LDFLAGS) $(CLI_EXTRA_LDFLAGS)

# the man page goes where the server's own are (`pg_config --mandir`);
# `make MINT_MANDIR=/usr/local/share/man install` puts it on man's default path
MINT_MANDIR ?= $(mandir)

ifndef MINT_PGXS_INSTALL
ifeq ($(MAJORVERSION),13)
# PGXS 13 knows no NO_INSTALL: its install and uninstall stay as they are
# (redefining them would make GNU make warn), and the CLI's are added to them
ifndef NO_CLI
install: install-cli
uninstall: uninstall-cli
endif
else
install: all
	$(MAKE) MINT_PGXS_INSTALL=1 install
ifndef NO_CLI
	$(MAKE) MINT_PGXS_INSTALL=1 install-cli
endif
	@echo
	@echo "pg_mint $(DIST_VERSION) installed:"
	@echo "  extension  $(DESTDIR)$(pkglibdir)/pg_mint$(DLSUFFIX)"
	@echo "             $(DESTDIR)$(datadir)/extension/pg_mint.control and pg_mint--*.sql"
ifndef NO_CLI
	@echo "  CLI        $(DESTDIR)$(bindir)/pg_mint"
	@echo "  man page   $(DESTDIR)$(MINT_MANDIR)/man1/pg_mint.1"
	@if [ -n '$(CLI_LINKDIR)' ] && [ -L '$(DESTDIR)$(CLI_LINKDIR)/pg_mint' ]; then \
	  echo "             $(DESTDIR)$(CLI_LINKDIR)/pg_mint -> $(bindir)/pg_mint"; fi
endif
	@echo "next: CREATE EXTENSION pg_mint;  (as a superuser, in your maintenance database)"

uninstall:
	$(MAKE) MINT_PGXS_INSTALL=1 uninstall uninstall-cli
endif
endif

# the link is made only where it can be, and never over a file that is not
# a symlink: a note says why, the install goes on
install-cli: cli/pg_mint
	$(MKDIR_P) '$(DESTDIR)$(bindir)' '$(DESTDIR)$(MINT_MANDIR)/man1'
	$(INSTALL_PROGRAM) cli/pg_mint '$(DESTDIR)$(bindir)/pg_mint'
	$(INSTALL_DATA) cli/pg_mint.1 '$(DESTDIR)$(MINT_MANDIR)/man1/pg_mint.1'
	@if [ -n '$(CLI_LINKDIR)' ] && [ '$(CLI_LINKDIR)' != '$(bindir)' ]; then \
	  link='$(DESTDIR)$(CLI_LINKDIR)/pg_mint'; \
	  if [ -e "$$link" ] && [ ! -L "$$link" ]; then \
	    echo "note: $$link exists and is not a symlink: left alone (pg_mint is $(bindir)/pg_mint)"; \
	  elif $(MKDIR_P) '$(DESTDIR)$(CLI_LINKDIR)' 2>/dev/null && ln -sfn '$(bindir)/pg_mint' "$$link" 2>/dev/null; then \
	    echo "ln -s $(bindir)/pg_mint $$link"; \
	  else \
	    echo "note: cannot create $$link: put $(bindir) on PATH, or make install CLI_LINKDIR=DIR"; \
	  fi; \
	fi

# removes the link only when it is ours (points to this bindir's pg_mint)
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_mint' '$(DESTDIR)$(MINT_MANDIR)/man1/pg_mint.1'
	@link='$(DESTDIR)$(CLI_LINKDIR)/pg_mint'; \
	if [ -n '$(CLI_LINKDIR)' ] && [ -L "$$link" ] && [ "$$(readlink "$$link")" = '$(bindir)/pg_mint' ]; then \
	  echo "rm -f $$link"; rm -f "$$link"; fi

clean: clean-cli
clean-cli:
	rm -f cli/pg_mint
	rm -rf tests/regress/results tests/regress/regression.* tests/isolation/output_iso

else
# no PostgreSQL development files yet: `make test` and `make demo` install
# them first (tests/packages.sh)
all install uninstall installcheck:
	@echo "pg_config not found: apt-get install postgresql-server-dev-15 libpq-dev (or set PG_CONFIG);"
	@echo "as root, make demo or make test installs them"; exit 1
endif

.PHONY: test bench-check test-matrix demo bench install-cli uninstall-cli clean-cli dist
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

# PGXN's release archive: pg_mint-X.Y.Z.zip of the committed tree (HEAD), every
# path under pg_mint-X.Y.Z/; META.json's version must be X.Y.Z
DIST_DIR ?= .
GIT ?= git
dist:
	@grep -q '"version": "$(DIST_VERSION)"' META.json || { echo "META.json does not name version $(DIST_VERSION)"; exit 1; }
	$(GIT) archive --format=zip --prefix=pg_mint-$(DIST_VERSION)/ -o $(DIST_DIR)/pg_mint-$(DIST_VERSION).zip HEAD
	@echo "$(DIST_DIR)/pg_mint-$(DIST_VERSION).zip"
