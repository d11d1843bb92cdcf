/*
 * proc.c -- signals and child processes.
 *
 * SIGINT, SIGTERM and SIGHUP never kill pg_mint outright: the handler
 * records the signal and wakes the main loop through a self-pipe, so that
 * a server call in progress can be cancelled (PQcancel) and a template
 * build aborted cleanly.  While COMMAND runs, a signal that another process
 * sent to pg_mint alone (kill PID, a CI runner's timeout) is forwarded to
 * COMMAND; a terminal's Ctrl-C already reaches COMMAND directly, since it
 * shares pg_mint's process group, and is not sent twice.
 *
 * Layer: base helper, called by main.c, query.c and the cmd_*.c files;
 * calls only util.c.
 */
#define _GNU_SOURCE
#include "pg_mint.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t last_signal = 0;
static volatile sig_atomic_t n_signals = 0;
static volatile pid_t child_pid = 0;
static int	sigpipe_fds[2] = {-1, -1};

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

static void
on_signal(int sig, siginfo_t *info, void *ctx)
{
	int			save_errno = errno;
	pid_t		child = child_pid;

	last_signal = sig;
	n_signals++;
	if (child > 0 && info != NULL &&
		(info->si_code == SI_USER || info->si_code == SI_QUEUE) &&
		info->si_pid != child)
		kill(child, sig);
	if (sigpipe_fds[1] >= 0)
		(void) !write(sigpipe_fds[1], "s", 1);
	errno = save_errno;
}

void
signals_init(void)
{
	struct sigaction sa;
	size_t		i;

	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
	{
		log_error("could not create a pipe: %s", strerror(errno));
		exit(EXIT_RUNTIME);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
}

int
signal_received(void)
{
	return last_signal;
}

int
signal_count(void)
{
	return n_signals;
}

int
signal_pipe_fd(void)
{
	return sigpipe_fds[0];
}

int
run_command(char **argv, int *termsig)
{
	pid_t		pid;
	int			status;

	*termsig = 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
	{
		log_error("could not fork: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (pid == 0)
	{
		struct sigaction sa;
		size_t		i;
		int			err;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
			sigaction(handled[i], &sa, NULL);
		execvp(argv[0], argv);
		err = errno;
		fprintf(stderr, "%s: error: could not execute \"%s\": %s\n",
				progname, argv[0], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			log_error("could not wait for \"%s\": %s", argv[0], strerror(errno));
			child_pid = 0;
			return EXIT_RUNTIME;
		}
	}
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
	{
		*termsig = WTERMSIG(status);
		return 128 + WTERMSIG(status);
	}
	return EXIT_RUNTIME;
}
