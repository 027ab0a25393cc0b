/*
 * systemd's service notification protocol (sd_notify(3)) for the long-running commands: READY=1
 * once the service does its job, STATUS= lines for `systemctl status`, STOPPING=1 when a stop
 * begins and WATCHDOG=1 pings while the caller has checked that its loops still turn. Every call
 * is a no-op returning 0 when NOTIFY_SOCKET is unset (not started by systemd, or Type=simple).
 * Cold path only: each call is a sendmsg(2) on a unix socket.
 */
#ifndef TRADSYS_CORE_NOTIFY_H
#define TRADSYS_CORE_NOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line (status may be NULL). Returns 1 sent, 0 no NOTIFY_SOCKET, -errno. */
int notify_ready(const char *status);

/* STATUS= line, printf-style. Returns 1 sent, 0 no NOTIFY_SOCKET, or -errno. */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STOPPING=1 with a STATUS= line (may be NULL). Returns 1 sent, 0 no NOTIFY_SOCKET, or -errno. */
int notify_stopping(const char *status);

/* WATCHDOG=1: the caller vouches that the process is healthy. Returns 1, 0 or -errno as above. */
int notify_watchdog(void);

/*
 * The interval the caller should ping at: half of WatchdogSec= (WATCHDOG_USEC, for this process
 * per WATCHDOG_PID), in nanoseconds; 0 when the service manager asked for no watchdog.
 */
uint64_t notify_watchdog_interval_ns(void);

#endif
