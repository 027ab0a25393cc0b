/*
 * Description: the dataplane configuration loader. A full file fills the driver configuration,
 * the flows and the workers with their values and defaults; unknown keys, bad values, missing
 * required keys, shared cores or queues, a queue beyond the driver's and bad section names are
 * each refused with a message naming the file (and line, where known), section and key; feed
 * sections with a B line and book sizes become flows and feed configurations in file order.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "worker.h"

static struct worker_config wc;
static char err[512];
static struct config *cur; /* wc's strings point into it: freed by the next parse or fini */

static void fini(void)
{
	config_free(cur);
	cur = NULL;
}

TestSuite(worker_config, .fini = fini);

/* Parses text as t.conf; returns the loader's result, with err set. */
static int parse(const char *text)
{
	config_free(cur);
	err[0] = '\0';
	cur = config_parse(text, strlen(text), "t.conf", err, sizeof(err));
	cr_assert_not_null(cur, "%s", err);
	return worker_config_parse(cur, "t.conf", &wc, err, sizeof(err));
}

#define BASE                                                                           \
	"[driver]\nkind = uring\ninterface = lo\nqueues = 2\n[feed.a]\nport = 26400\n" \
	"group = 239.1.1.1\n[feed.b]\nport = 26401\n"

Test(worker_config, full_file_fills_driver_flows_and_workers)
{
	cr_assert_eq(parse("[appliance]\ninstance = demo\nlog_level = debug\n" BASE
			   "[worker.0]\ncore = 1\nidle = backoff\ncommand_poll = 64\n"
			   "tx_flush_us = 20\nhandler = dump\ndump_file = /tmp/x\n"
			   "[worker.1]\ncore = 0\nqueue = 1\n"),
		     0, "%s", err);
	cr_assert_str_eq(wc.instance, "demo");
	cr_assert_eq(wc.log_level, LOG_LEVEL_DEBUG);
	cr_assert_eq(wc.driver.kind, DRIVER_URING);
	cr_assert_str_eq(wc.driver.ifname, "lo");
	cr_assert_eq(wc.driver.queues, 2);
	cr_assert_eq(wc.driver.ring_size, 1024);
	cr_assert_eq(wc.driver.nflows, 2);
	cr_assert_eq(wc.driver.flows[0].port, 26400);
	cr_assert_eq(wc.driver.flows[0].group, inet_addr("239.1.1.1"));
	cr_assert_eq(wc.driver.flows[1].port, 26401);
	cr_assert_eq(wc.driver.flows[1].group, 0);
	cr_assert_str_eq(wc.feed_names[1], "b");
	cr_assert_eq(wc.nworkers, 2);
	cr_assert_eq(wc.workers[0].core, 1);
	cr_assert_eq(wc.workers[0].queue, 0);
	cr_assert_eq(wc.workers[0].idle, WORKER_IDLE_BACKOFF);
	cr_assert_eq(wc.workers[0].command_poll, 64);
	cr_assert_eq(wc.workers[0].tx_flush_us, 20);
	cr_assert_eq(wc.workers[0].handler, WORKER_HANDLER_DUMP);
	cr_assert_str_eq(wc.workers[0].dump_file, "/tmp/x");
	cr_assert_eq(wc.workers[1].id, 1);
	cr_assert_eq(wc.workers[1].queue, 1);
	cr_assert_eq(wc.workers[1].idle, WORKER_IDLE_SPIN);
	cr_assert_eq(wc.workers[1].command_poll, 1024);
	cr_assert_eq(wc.workers[1].tx_flush_us, 50);
	cr_assert_eq(wc.workers[1].handler, WORKER_HANDLER_COUNT);
}

Test(worker_config, defaults_apply_when_appliance_section_is_absent)
{
	cr_assert_eq(parse(BASE "[worker.0]\ncore = 0\n"), 0, "%s", err);
	cr_assert_str_eq(wc.instance, "default");
	cr_assert_eq(wc.log_level, LOG_LEVEL_INFO);
}

Test(worker_config, unknown_key_is_named_with_file_and_line)
{
	cr_assert_eq(parse(BASE "[worker.0]\ncore = 0\ncroe = 1\n"), -EINVAL);
	cr_assert_str_eq(err, "t.conf:12: [worker.0] croe: unknown key");
}

Test(worker_config, bad_value_is_named_with_file_and_line)
{
	cr_assert_eq(parse(BASE "[worker.0]\ncore = x\n"), -EINVAL);
	cr_assert_str_eq(err, "t.conf:11: [worker.0] core: 'x' is not an integer");
}

Test(worker_config, unknown_driver_kind_is_refused)
{
	cr_assert_eq(parse("[driver]\nkind = pcap\n[feed.a]\nport=1\n[worker.0]\ncore=0\n"),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf: [driver] kind: 'pcap' is not one of: dpdk, xdp, uring");
}

Test(worker_config, missing_sections_and_keys_are_refused)
{
	cr_assert_eq(parse("[feed.a]\nport=1\n[worker.0]\ncore=0\n"), -ENOENT);
	cr_assert_str_eq(err, "t.conf: [driver] kind: required but missing");
	cr_assert_eq(parse(BASE), -ENOENT);
	cr_assert(strstr(err, "no [worker.N] section") != NULL, "%s", err);
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[worker.0]\ncore=0\n"), -ENOENT);
	cr_assert(strstr(err, "no [feed.<name>] section") != NULL, "%s", err);
	cr_assert_eq(parse(BASE "[worker.0]\nqueue = 0\n"), -ENOENT);
	cr_assert_str_eq(err, "t.conf: [worker.0] core: required but missing");
	cr_assert_eq(parse(BASE "[worker.0]\ncore = 0\nhandler = dump\n"), -ENOENT);
	cr_assert(strstr(err, "dump_file: required") != NULL, "%s", err);
	cr_assert_eq(parse("[driver]\nkind=xdp\n[feed.a]\nport=1\n[worker.0]\ncore=0\n"), -ENOENT);
	cr_assert(strstr(err, "[driver] interface: required for kind xdp") != NULL, "%s", err);
}

Test(worker_config, workers_sharing_a_core_or_queue_are_refused)
{
	cr_assert_eq(parse(BASE "[worker.0]\ncore = 0\n[worker.1]\ncore = 0\nqueue = 1\n"),
		     -EINVAL);
	cr_assert(strstr(err, "[worker.1]: same core as [worker.0]") != NULL, "%s", err);
	cr_assert_eq(parse(BASE "[worker.0]\ncore = 0\n[worker.1]\ncore = 1\nqueue = 0\n"),
		     -EINVAL);
	cr_assert(strstr(err, "[worker.1]: same queue as [worker.0]") != NULL, "%s", err);
}

Test(worker_config, queue_beyond_driver_queues_is_refused)
{
	cr_assert_eq(parse(BASE "[worker.0]\ncore = 0\nqueue = 2\n"), -EINVAL);
	cr_assert_str_eq(err, "t.conf: [worker.0] queue: 2, but [driver] queues = 2");
}

Test(worker_config, bad_section_names_group_and_ring_size_are_refused)
{
	cr_assert_eq(parse(BASE "[worker.x]\ncore = 0\n"), -EINVAL);
	cr_assert(strstr(err, "[worker.x]: name worker sections") != NULL, "%s", err);
	cr_assert_eq(parse(BASE "[worker]\ncore = 0\n"), -EINVAL);
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\ngroup=1.2.3\n"
			   "[worker.0]\ncore=0\n"),
		     -EINVAL);
	cr_assert(strstr(err, "group: '1.2.3' is not an IPv4 address") != NULL, "%s", err);
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\nring_size=1000\n[feed.a]\nport=1\n"
			   "[worker.0]\ncore=0\n"),
		     -EINVAL);
	cr_assert(strstr(err, "ring_size: 1000 is not a power of two") != NULL, "%s", err);
	cr_assert_eq(parse("[appliance]\ninstance = a/b\n" BASE "[worker.0]\ncore=0\n"), -EINVAL);
	cr_assert(strstr(err, "[appliance] instance: 'a/b'") != NULL, "%s", err);
}

/* --- [feed.<name>] lines and book sizes, decoded_file ------------------------------------- */

#define WORKER "[worker.0]\ncore = 0\n"

Test(worker_config, feed_b_line_and_book_sizes_fill_flows_in_file_order)
{
	cr_assert_eq(parse("[driver]\nkind = uring\ninterface = lo\n"
			   "[feed.x]\ngroup = 239.1.1.1\nport = 26400\nb_group = 239.1.1.2\n"
			   "b_port = 26400\nmax_instruments = 1024\nmax_orders = 5000\n"
			   "max_levels = 32\nprice_step = 1\n"
			   "[feed.y]\nport = 26402\n" WORKER "handler = feed\n"
			   "decoded_file = /tmp/d\n"),
		     0, "%s", err);
	cr_assert_eq(wc.nfeeds, 2);
	cr_assert_eq(wc.driver.nflows, 3);
	cr_assert_str_eq(wc.feeds[0].name, "x");
	cr_assert_eq(wc.feeds[0].flow_a, 0);
	cr_assert_eq(wc.feeds[0].flow_b, 1);
	cr_assert_eq(wc.driver.flows[0].group, inet_addr("239.1.1.1"));
	cr_assert_eq(wc.driver.flows[1].group, inet_addr("239.1.1.2"));
	cr_assert_eq(wc.driver.flows[1].port, 26400);
	cr_assert_str_eq(wc.feed_names[1], "x");
	cr_assert_eq(wc.feeds[0].max_instruments, 1024);
	cr_assert_eq(wc.feeds[0].max_orders, 5000);
	cr_assert_eq(wc.feeds[0].max_levels, 32);
	cr_assert_eq(wc.feeds[0].price_step, 1);
	cr_assert_str_eq(wc.feeds[1].name, "y");
	cr_assert_eq(wc.feeds[1].flow_a, 2);
	cr_assert_eq(wc.feeds[1].flow_b, WORKER_NO_FLOW);
	cr_assert_eq(wc.driver.flows[2].port, 26402);
	cr_assert_str_eq(wc.feed_names[2], "y");
	cr_assert_eq(wc.workers[0].handler, WORKER_HANDLER_FEED);
	cr_assert_str_eq(wc.workers[0].decoded_file, "/tmp/d");
}

Test(worker_config, feed_book_sizes_default_when_absent)
{
	cr_assert_eq(parse(BASE WORKER), 0, "%s", err);
	cr_assert_eq(wc.nfeeds, 2);
	cr_assert_eq(wc.feeds[1].max_instruments, WORKER_FEED_DEFAULT_INSTRUMENTS);
	cr_assert_eq(wc.feeds[1].max_orders, WORKER_FEED_DEFAULT_ORDERS);
	cr_assert_eq(wc.feeds[1].max_levels, WORKER_FEED_DEFAULT_LEVELS);
	cr_assert_eq(wc.feeds[1].price_step, 100, "a cent in ITCH price units");
	cr_assert_null(wc.workers[0].decoded_file);
}

Test(worker_config, bad_b_group_is_named)
{
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\nb_group=239.1\n"
			   "b_port=2\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf: [feed.a] b_group: '239.1' is not an IPv4 address");
}

Test(worker_config, b_group_without_b_port_is_refused)
{
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "b_group=239.1.1.2\n" WORKER),
		     -ENOENT);
	cr_assert_str_eq(err, "t.conf: [feed.a] b_port: required with b_group");
}

Test(worker_config, bad_b_port_is_named_with_file_and_line)
{
	cr_assert_eq(
		parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\nb_port=70000\n" WORKER),
		-EINVAL);
	cr_assert_str_eq(err, "t.conf:6: [feed.a] b_port: 70000 is outside [1, 65535]");
}

Test(worker_config, book_sizes_out_of_range_are_named)
{
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "max_instruments=65537\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf:6: [feed.a] max_instruments: 65537 is outside [1, 65536]");
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "max_orders=0\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf:6: [feed.a] max_orders: 0 is outside [1, 268435456]");
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "max_levels=lots\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf:6: [feed.a] max_levels: 'lots' is not an unsigned integer");
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "max_levels=65536\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf:6: [feed.a] max_levels: 65536 is outside [1, 65535]");
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "price_step=0\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf:6: [feed.a] price_step: 0 is outside [1, 1000000]");
}

Test(worker_config, two_lines_on_one_port_are_refused_unless_groups_differ)
{
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "[feed.b]\nport=1\ngroup=239.1.1.1\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf: [feed.b] port: port 1 (one line has no group) is already "
			      "taken by [feed.a]");
	cr_assert_eq(parse("[driver]\nkind=uring\ninterface=lo\n[feed.a]\nport=1\n"
			   "group=239.1.1.1\nb_port=1\nb_group=239.1.1.1\n" WORKER),
		     -EINVAL);
	cr_assert_str_eq(err, "t.conf: [feed.a] b_port: port 1 with the same group is already "
			      "taken by [feed.a]");
}

Test(worker_config, more_lines_than_driver_flows_are_refused)
{
	char text[1024];
	int n = snprintf(text, sizeof(text), "[driver]\nkind=uring\ninterface=lo\n");

	for (int i = 0; i < 5; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "[feed.f%d]\nport=%d\nb_port=%d\n", i, 100 + i, 200 + i);
	snprintf(text + n, sizeof(text) - (size_t)n, WORKER);
	cr_assert_eq(parse(text), -EINVAL);
	cr_assert_str_eq(err, "t.conf: [feed.f4] port: more than 8 feed lines (A and B) in all");
}

Test(worker_config, decoded_file_needs_handler_feed_and_a_path)
{
	cr_assert_eq(parse(BASE WORKER
			   "handler = dump\ndump_file = /tmp/x\ndecoded_file = /tmp/y\n"),
		     -EINVAL);
	cr_assert_str_eq(err,
			 "t.conf: [worker.0] decoded_file: only with handler = feed or trading");
	cr_assert_eq(parse(BASE WORKER "handler = feed\ndecoded_file =\n"), -EINVAL);
	cr_assert_str_eq(err, "t.conf: [worker.0] decoded_file: empty path");
	cr_assert_eq(parse(BASE WORKER "handler = feed\nreport_file = /tmp/r\n"), -EINVAL);
	cr_assert_str_eq(err, "t.conf: [worker.0] report_file: only with handler = trading");
	cr_assert_eq(parse(BASE WORKER "handler = trading\nreport_file = /tmp/r\n"), 0, "%s", err);
}

Test(worker_config, request_server)
{
	cr_assert_eq(parse(BASE "request_server = 10.0.0.1:4000\n" WORKER), 0, "%s", err);
	cr_assert_eq(wc.feeds[1].request_ip, htonl(0x0a000001));
	cr_assert_eq(wc.feeds[0].request_ip, 0);
	cr_assert_eq(wc.feeds[1].request_port, 4000);
	static const char *const bad[] = { "10.0.0.1",	   "10.0.0.1:0",   "10.0.0.1:70000",
					   "nowhere:4000", "0.0.0.0:4000", "10.0.0.1:4000x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), BASE "request_server = %s\n" WORKER, bad[i]);
		cr_assert_eq(parse(text), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(err, "[feed.b] request_server: '") != NULL, "%s", err);
	}
}
