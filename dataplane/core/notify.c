/*
 * sd_notify(3) messages, through libsystemd (already linked for the journal log sink). The state
 * strings are fixed here so every command speaks the protocol the same way; the callers decide
 * when they are ready and whether they are healthy.
 */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

int notify_ready(const char *status)
{
	if (!status)
		return sd_notify(0, "READY=1");
	return sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

int notify_status(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return sd_notifyf(0, "STATUS=%s", line);
}

int notify_stopping(const char *status)
{
	if (!status)
		return sd_notify(0, "STOPPING=1");
	return sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}

int notify_watchdog(void)
{
	return sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_interval_ns(void)
{
	uint64_t usec = 0;

	/* Half the timeout, as sd_watchdog_enabled(3) advises: one late ping is not a restart. */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return usec / 2 * 1000;
}
