/*
 * fcgi-supervisor - runs N children of one FastCGI program on one
 * listening socket and replaces any that dies (spawn-fcgi starts them
 * once and forgets them: with every child of a program dead, nginx
 * answered 502 until someone restarted it by hand).
 *
 *   fcgi-supervisor -s SOCKET [-M MODE] [-F CHILDREN] [-P PIDFILE]
 *                   [-C CHILDFILE] [-n NAME] -- PROGRAM [ARG...]
 *
 * It stays in the foreground (a systemd Type=simple service, or started
 * in the background by scripts/stack.sh). The socket is created here and
 * held open here, so connections queue in its backlog while a child is
 * replaced instead of being refused; with systemd socket activation
 * (LISTEN_FDS=1) the socket passed as fd 3 is used instead of -s.
 * Children get it as fd 0, the FastCGI convention libfcgi expects.
 *
 * A child that dies is started again at once; one that dies within
 * SUP_STABLE_S of its start is started after a delay that doubles from
 * 100 ms up to 10 s, so a program that cannot start does not spin.
 * PIDFILE holds the supervisor's PID; CHILDFILE the live children's, one
 * per line, rewritten on every change (fcgi-apps/health reads it for
 * /readyz). TERM or INT: TERM every child, KILL what is left after 5 s,
 * remove the socket and both files, exit. HUP: TERM every child, each
 * finishing its request, and start them again (new binaries after a
 * deploy). A child gets TERM when the supervisor dies, even by KILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oshxona.h"

#define SUP_MAX_CHILDREN 256
#define SUP_STABLE_S     10    /* a child that lived this long was healthy */
#define SUP_DELAY_MIN_MS 100   /* first delay after a quick death */
#define SUP_DELAY_MAX_MS 10000 /* the delay stops doubling here */
#define SUP_STOP_WAIT_MS 5000  /* TERM, then KILL after this */

struct sup_child {
	pid_t pid;          /* 0 while not running */
	int64_t started_ms; /* when pid was started */
	int64_t due_ms;     /* when to start again (pid 0) */
	int quick_deaths;   /* deaths within SUP_STABLE_S in a row */
};

static struct sup_child sup_children[SUP_MAX_CHILDREN];
static int sup_n = 2;
static int sup_fd = -1;
static const char *sup_socket, *sup_pidfile, *sup_childfile;
static char **sup_argv;

static int64_t
sup_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes text to path through a temporary file and a rename. */
static void
sup_write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	if (path == NULL)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_error("path too long: %s", path);
		return;
	}
	f = fopen(tmp, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0 || rename(tmp, path) != 0) {
		log_error("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

static void
sup_write_children(void)
{
	char text[SUP_MAX_CHILDREN * 12 + 1];
	size_t off = 0;

	text[0] = '\0';
	for (int i = 0; i < sup_n; i++)
		if (sup_children[i].pid > 0)
			off += (size_t)snprintf(text + off, sizeof(text) - off, "%d\n",
			                        (int)sup_children[i].pid);
	sup_write_file(sup_childfile, text);
}

/* The listening socket: systemd's, or a new one at sup_socket. */
static int
sup_listen(const char *mode_s)
{
	const char *fds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
	struct sockaddr_un sa;
	long mode;
	char *end;
	int fd;

	if (fds != NULL && lpid != NULL && strcmp(fds, "1") == 0 &&
	    strtol(lpid, NULL, 10) == (long)getpid()) {
		sup_socket = NULL; /* systemd owns it: never unlinked here */
		return 3;
	}
	if (sup_socket == NULL || strlen(sup_socket) >= sizeof(sa.sun_path)) {
		log_error("a socket path (-s, under %zu bytes) is required", sizeof(sa.sun_path));
		return -1;
	}
	errno = 0;
	mode = strtol(mode_s, &end, 8);
	if (errno != 0 || *end != '\0' || mode < 0 || mode > 0777) {
		log_error("bad socket mode %s", mode_s);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sup_socket, strlen(sup_socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	/* A socket file left by a killed supervisor would make bind fail. */
	unlink(sup_socket);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(sup_socket, (mode_t)mode) != 0 || listen(fd, 1024) != 0) {
		log_error("socket %s: %s", sup_socket, strerror(errno));
		return -1;
	}
	return fd;
}

static void
sup_start(struct sup_child *c, const sigset_t *oldmask)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		c->due_ms = sup_now_ms() + SUP_DELAY_MAX_MS;
		return;
	}
	if (pid == 0) {
		/* A child outlives a killed supervisor only until it notices. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		if (sup_fd != 0) {
			if (dup2(sup_fd, 0) < 0)
				_exit(1);
			close(sup_fd);
		}
		execv(sup_argv[0], sup_argv);
		log_error("cannot run %s: %s", sup_argv[0], strerror(errno));
		_exit(127);
	}
	c->pid = pid;
	c->started_ms = sup_now_ms();
}

/* Reaps every dead child and schedules its replacement. */
static void
sup_reap(int stopping)
{
	int status, changed = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < sup_n; i++) {
			struct sup_child *c = &sup_children[i];
			int64_t now = sup_now_ms(), delay = 0;
			if (c->pid != pid)
				continue;
			c->pid = 0;
			changed = 1;
			if (now - c->started_ms < SUP_STABLE_S * 1000) {
				int shift = c->quick_deaths < 7 ? c->quick_deaths : 7;
				delay = (int64_t)SUP_DELAY_MIN_MS << shift;
				if (delay > SUP_DELAY_MAX_MS)
					delay = SUP_DELAY_MAX_MS;
				c->quick_deaths++;
			} else {
				c->quick_deaths = 0;
			}
			c->due_ms = now + delay;
			if (stopping)
				break;
			if (WIFSIGNALED(status))
				log_warn(
				    "child %d killed by signal %d; starting another in %lld ms",
				    (int)pid, WTERMSIG(status), (long long)delay);
			else
				log_warn("child %d exited with %d; starting another in %lld ms",
				         (int)pid, WEXITSTATUS(status), (long long)delay);
			break;
		}
	}
	if (changed)
		sup_write_children();
}

static void
sup_signal_all(int sig)
{
	for (int i = 0; i < sup_n; i++)
		if (sup_children[i].pid > 0)
			kill(sup_children[i].pid, sig);
}

static int
sup_any_alive(void)
{
	for (int i = 0; i < sup_n; i++)
		if (sup_children[i].pid > 0)
			return 1;
	return 0;
}

static void
sup_stop(const sigset_t *set)
{
	int64_t deadline = sup_now_ms() + SUP_STOP_WAIT_MS;

	log_info("stopping %d children", sup_n);
	sup_signal_all(SIGTERM);
	while (sup_any_alive() && sup_now_ms() < deadline) {
		struct timespec ts = {0, 50 * 1000000};
		sigtimedwait(set, NULL, &ts);
		sup_reap(1);
	}
	if (sup_any_alive()) {
		log_warn("children still running after %d ms: KILL", SUP_STOP_WAIT_MS);
		sup_signal_all(SIGKILL);
		while (sup_any_alive() && waitpid(-1, NULL, 0) > 0)
			sup_reap(1);
	}
	if (sup_socket != NULL)
		unlink(sup_socket);
	if (sup_childfile != NULL)
		unlink(sup_childfile);
	if (sup_pidfile != NULL)
		unlink(sup_pidfile);
}

static void
sup_usage(void)
{
	fprintf(stderr, "usage: fcgi-supervisor -s SOCKET [-M MODE] [-F CHILDREN] [-P PIDFILE] "
	                "[-C CHILDFILE] [-n NAME] -- PROGRAM [ARG...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *mode = "0600", *name = "fcgi-supervisor";
	char prog[96], pidtext[24];
	sigset_t set, oldmask;
	int opt;

	while ((opt = getopt(argc, argv, "s:M:F:P:C:n:")) != -1) {
		switch (opt) {
		case 's':
			sup_socket = optarg;
			break;
		case 'M':
			mode = optarg;
			break;
		case 'F':
			sup_n = (int)strtol(optarg, NULL, 10);
			if (sup_n < 1 || sup_n > SUP_MAX_CHILDREN)
				sup_usage();
			break;
		case 'P':
			sup_pidfile = optarg;
			break;
		case 'C':
			sup_childfile = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		default:
			sup_usage();
		}
	}
	if (optind >= argc)
		sup_usage();
	sup_argv = argv + optind;
	snprintf(prog, sizeof(prog), "supervisor:%s", name);
	log_init(prog, getenv("LOG_LEVEL"), getenv("LOG_FILE"));

	/* Signals are taken synchronously, so nothing runs in a handler. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	signal(SIGPIPE, SIG_IGN);

	sup_fd = sup_listen(mode);
	if (sup_fd < 0)
		return 1;
	snprintf(pidtext, sizeof(pidtext), "%d\n", (int)getpid());
	sup_write_file(sup_pidfile, pidtext);
	for (int i = 0; i < sup_n; i++)
		sup_start(&sup_children[i], &oldmask);
	sup_write_children();
	log_info("started %d children of %s", sup_n, sup_argv[0]);

	for (;;) {
		int64_t now = sup_now_ms(), next = now + 1000;
		struct timespec ts;
		siginfo_t info;
		int sig, started = 0;

		for (int i = 0; i < sup_n; i++) {
			struct sup_child *c = &sup_children[i];
			if (c->pid == 0 && c->due_ms <= now) {
				sup_start(c, &oldmask);
				started = 1;
			}
			if (c->pid == 0 && c->due_ms < next)
				next = c->due_ms;
		}
		if (started)
			sup_write_children();
		ts.tv_sec = (next - now) / 1000;
		ts.tv_nsec = (long)((next - now) % 1000) * 1000000;
		sig = sigtimedwait(&set, &info, &ts);
		if (sig == SIGCHLD) {
			sup_reap(0);
		} else if (sig == SIGTERM || sig == SIGINT) {
			sup_stop(&set);
			log_info("stopped");
			return 0;
		} else if (sig == SIGHUP) {
			log_info("HUP: restarting every child");
			sup_signal_all(SIGTERM);
			for (int i = 0; i < sup_n; i++)
				sup_children[i].started_ms -= SUP_STABLE_S * 1000;
		}
	}
}
