/*
 * Description: the sd_notify messages reach the socket NOTIFY_SOCKET names, word for word; no
 * socket is a silent no-op; the watchdog interval is half of WATCHDOG_USEC, for this pid only.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static int sock = -1;
static char path[108];

/* A datagram socket standing in for systemd's notification socket. */
static void listen_here(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };

	snprintf(path, sizeof(path), "/tmp/ts-notify-%d.sock", (int)getpid());
	unlink(path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(sock, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
}

static void stop_listening(void)
{
	if (sock >= 0)
		close(sock);
	unlink(path);
	unsetenv("NOTIFY_SOCKET");
}

static void expect(const char *msg)
{
	char buf[512];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);

	cr_assert_gt(n, 0, "no message (expected \"%s\")", msg);
	buf[n] = '\0';
	cr_assert_str_eq(buf, msg);
}

TestSuite(notify, .init = listen_here, .fini = stop_listening);

Test(notify, ready_carries_its_status)
{
	cr_assert_eq(notify_ready("1 worker running"), 1);
	expect("READY=1\nSTATUS=1 worker running");
	cr_assert_eq(notify_ready(NULL), 1);
	expect("READY=1");
}

Test(notify, status_is_formatted)
{
	cr_assert_eq(notify_status("%u of %u workers running", 2u, 3u), 1);
	expect("STATUS=2 of 3 workers running");
}

Test(notify, stopping_and_watchdog_say_what_they_are)
{
	cr_assert_eq(notify_stopping("draining"), 1);
	expect("STOPPING=1\nSTATUS=draining");
	cr_assert_eq(notify_watchdog(), 1);
	expect("WATCHDOG=1");
}

Test(notify, no_socket_is_a_silent_no_op)
{
	unsetenv("NOTIFY_SOCKET");
	cr_assert_eq(notify_ready("x"), 0);
	cr_assert_eq(notify_watchdog(), 0);
	cr_assert_eq(notify_stopping(NULL), 0);
}

Test(notify, watchdog_interval_is_half_the_timeout_for_this_pid_only)
{
	char pid[16];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	cr_assert_eq(notify_watchdog_interval_ns(), 0);
	setenv("WATCHDOG_USEC", "4000000", 1);
	cr_assert_eq(notify_watchdog_interval_ns(), 2000000000ull);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert_eq(notify_watchdog_interval_ns(), 2000000000ull);
	/* Meant for another process (the variables leaked through an exec): not ours to ping. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert_eq(notify_watchdog_interval_ns(), 0);
}
