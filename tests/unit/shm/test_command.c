/*
 * Description: the command ring ABI. A ring the dataplane side creates is attached by another
 * process (fork), which sends commands the creator receives in order with their arguments; a full
 * ring refuses a command until one is taken; attach refuses a missing object, a bad magic, another
 * ABI version and sizes that do not add up, each with its own error and message; a live owner
 * blocks a second create while a dead owner's ring is replaced empty; destroy removes the object.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "journal.h"

static char inst[32];
static char err[512];

static void setup(void)
{
	snprintf(inst, sizeof(inst), "tcmd-%d", (int)getpid());
}

TestSuite(command, .init = setup);

static struct shm_command make_cmd(uint64_t id)
{
	struct shm_command c = { .id = id, .version = 1 };

	switch (id % 3) {
	case 0:
		c.type = SHM_COMMAND_KILL_SWITCH;
		c.kill_switch.scope = SHM_COMMAND_SCOPE_ACCOUNT;
		c.kill_switch.id = (uint32_t)id;
		c.kill_switch.on = 1;
		break;
	case 1:
		c.type = SHM_COMMAND_MANUAL_ORDER;
		c.manual_order.client_order_id = id * 10;
		c.manual_order.price = 1234500;
		c.manual_order.qty = (int64_t)id;
		c.manual_order.side = SHM_JOURNAL_BUY;
		break;
	default:
		c.type = SHM_COMMAND_STRATEGY_PARAM;
		c.strategy_param.strategy = 2;
		snprintf(c.strategy_param.key, sizeof(c.strategy_param.key), "spread");
		snprintf(c.strategy_param.value, sizeof(c.strategy_param.value), "%lu",
			 (unsigned long)id);
		break;
	}
	return c;
}

Test(command, name_maps_instance_and_worker_to_shm_object)
{
	char name[64];

	cr_assert_eq(shm_command_name("demo", 3, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "/tradsys-demo-cmd-3");
	cr_assert_eq(shm_command_name("a/b", 3, name, sizeof(name)), -EINVAL);
	cr_assert_eq(shm_command_name("", 3, name, sizeof(name)), -EINVAL);
	cr_assert_leq(SHM_COMMAND_RECORD_SIZE, 256, "fits the worker's WORKER_COMMAND_MAX");
	cr_assert_eq(offsetof(struct shm_command_region, ring) % 64, 0);
}

Test(command, a_process_that_attaches_sends_commands_the_creator_receives_in_order)
{
	struct shm_command_ring cr;
	struct shm_command c;
	pid_t child;
	int status;
	uint64_t next = 1;

	cr_assert_eq(shm_command_create(&cr, inst, 1, 64, err, sizeof(err)), 0, "%s", err);
	child = fork();
	if (child == 0) {
		struct shm_command_ring att;
		if (shm_command_attach(&att, inst, 1, err, sizeof(err)))
			_exit(1);
		for (uint64_t id = 1; id <= 1000; id++) {
			struct shm_command m = make_cmd(id);
			while (shm_command_send(&att, &m) == -EAGAIN)
				usleep(10);
		}
		shm_command_destroy(&att);
		_exit(0);
	}
	while (next <= 1000) {
		if (!shm_command_poll(&cr, &c)) {
			cr_assert_eq(waitpid(child, &status, WNOHANG), 0, "the sender died early");
			continue;
		}
		struct shm_command want = make_cmd(next);
		cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0, "command %lu differs",
			     (unsigned long)next);
		next++;
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert(!shm_command_poll(&cr, &c));
	shm_command_destroy(&cr);
}

Test(command, a_full_ring_refuses_until_a_command_is_taken)
{
	struct shm_command_ring cr, att;
	struct shm_command c = make_cmd(1);

	cr_assert_eq(shm_command_create(&cr, inst, 0, 4, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(shm_command_send(&att, &c), 0);
	cr_assert_eq(shm_command_send(&att, &c), -EAGAIN);
	cr_assert(shm_command_poll(&cr, &c));
	cr_assert_eq(shm_command_send(&att, &c), 0);
	cr_assert_eq(spsc_ring_count(shm_command_spsc(&cr)), 4);
	shm_command_destroy(&att);
	shm_command_destroy(&cr);
}

Test(command, create_rejects_a_capacity_that_is_not_a_power_of_two)
{
	struct shm_command_ring cr;

	cr_assert_eq(shm_command_create(&cr, inst, 0, 12, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "capacity 12") != NULL, "%s", err);
}

Test(command, attach_without_a_ring_says_so)
{
	struct shm_command_ring att;

	cr_assert_eq(shm_command_attach(&att, inst, 9, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no command ring for instance") != NULL, "%s", err);
}

Test(command, attach_rejects_a_bad_magic)
{
	struct shm_command_ring cr, att;

	cr_assert_eq(shm_command_create(&cr, inst, 0, 8, err, sizeof(err)), 0, "%s", err);
	cr.region->hdr.magic = 0x11223344;
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "not a tradsys command ring (magic 0x11223344") != NULL, "%s", err);
	shm_command_destroy(&cr);
}

Test(command, attach_rejects_another_abi_version)
{
	struct shm_command_ring cr, att;

	cr_assert_eq(shm_command_create(&cr, inst, 0, 8, err, sizeof(err)), 0, "%s", err);
	cr.region->hdr.abi_version = 2;
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), -EPROTONOSUPPORT);
	cr_assert(strstr(err, "ABI version 2, this build understands version 1") != NULL, "%s",
		  err);
	shm_command_destroy(&cr);
}

Test(command, attach_rejects_sizes_that_do_not_add_up)
{
	struct shm_command_ring cr, att;

	cr_assert_eq(shm_command_create(&cr, inst, 0, 8, err, sizeof(err)), 0, "%s", err);
	cr.region->hdr.record_size = 64;
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "sizes do not add up: record size 64") != NULL, "%s", err);
	cr.region->hdr.record_size = SHM_COMMAND_RECORD_SIZE;
	cr.region->ring.capacity = 16; /* more elements than the object holds */
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), -EINVAL);
	cr.region->ring.capacity = 8;
	cr.region->ring.magic = 0;
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), -EINVAL);
	cr.region->ring.magic = SPSC_MAGIC;
	cr_assert_eq(shm_command_attach(&att, inst, 0, err, sizeof(err)), 0, "%s", err);
	shm_command_destroy(&att);
	shm_command_destroy(&cr);
}

Test(command, a_live_owner_blocks_create_and_a_dead_ones_ring_is_replaced_empty)
{
	struct shm_command_ring cr, cr2;
	struct shm_command c = make_cmd(5);
	pid_t child;

	cr_assert_eq(shm_command_create(&cr, inst, 0, 8, err, sizeof(err)), 0, "%s", err);
	cr.region->hdr.pid = (int32_t)getppid();
	cr_assert_eq(shm_command_create(&cr2, inst, 0, 8, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "belongs to running process") != NULL, "%s", err);
	child = fork();
	if (child == 0)
		_exit(0);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	cr.region->hdr.pid = (int32_t)child;
	cr_assert_eq(shm_command_send(&cr, &c), 0);
	cr_assert_eq(shm_command_create(&cr2, inst, 0, 8, err, sizeof(err)), 0, "%s", err);
	cr_assert(!shm_command_poll(&cr2, &c), "the new ring is empty");
	munmap(cr.region, cr.size);
	shm_command_destroy(&cr2);
}

Test(command, destroy_removes_the_object)
{
	struct shm_command_ring cr, att;

	cr_assert_eq(shm_command_create(&cr, inst, 2, 8, err, sizeof(err)), 0, "%s", err);
	shm_command_destroy(&cr);
	cr_assert_null(cr.region);
	cr_assert_eq(shm_command_attach(&att, inst, 2, err, sizeof(err)), -ENOENT);
}
