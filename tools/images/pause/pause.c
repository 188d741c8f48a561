/*
 * The pod sandbox's first process: holds the pod's namespaces open and does
 * nothing else. It is PID 1 of the pod when the pod shares its PID namespace,
 * so it reaps whatever orphans get re-parented to it, and it exits at once on
 * SIGTERM or SIGINT (the runtime stops a sandbox with SIGTERM; waiting for the
 * grace period would slow every pod deletion).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
	(void)sig;
	_exit(0);
}

static void on_child(int sig) {
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	errno = saved;
}

static int handle(int sig, void (*handler)(int)) {
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = handler;
	action.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
	sigemptyset(&action.sa_mask);
	return sigaction(sig, &action, NULL);
}

int main(int argc, char **argv) {
	(void)argv;
	if (argc > 1) {
		fputs("pause: takes no arguments\n", stderr);
		return 2;
	}
	if (handle(SIGTERM, on_stop) || handle(SIGINT, on_stop) || handle(SIGCHLD, on_child)) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
}
