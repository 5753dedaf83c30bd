/*
 * Two processes on one database file (integration suite): a writer standing
 * in for the CLI (adds devices, enqueues packages one transaction each,
 * cancels some, writes audit notes, runs listings) and a reader/writer
 * standing in for the server (polls every device with next, records
 * results and contacts). Both use synchronous=FULL so that transactions are
 * slow enough to collide. Neither may ever see an error: SQLITE_BUSY must
 * be absorbed by the store (IMMEDIATE transactions and the busy timeout).
 */
#include "store_fixture.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEVICES 60
#define PER_DEVICE 25

static char db_path[300], done_path[300];

static struct eim_store *open_as(const char *actor)
{
	struct eim_store_options o;
	struct eim_store *s = NULL;

	eim_store_options_init(&o);
	o.actor = actor;
	if (eim_store_open(db_path, &o, &s) != 0) {
		fprintf(stderr, "%s: open: %s\n", actor,
			eim_store_open_errmsg());
		_exit(3);
	}
	return s;
}

static void die(struct eim_store *s, const char *who, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", who, what, eim_errname(err),
		eim_store_errmsg(s));
	_exit(err == EIM_EBUSY ? 9 : 1);
}

static int count_cb(void *ctx, const struct eim_store_package *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

static void cli_writer(void)
{
	struct eim_store *s = open_as("cli");
	struct eim_store_filter f;
	uint64_t counts[EIM_STORE_STATE_COUNT];
	int err, n = 0;

	for (unsigned round = 0; round < PER_DEVICE; round++) {
		for (unsigned dev = 1; dev <= DEVICES; dev++) {
			struct eim_store_enqueue_req r = fx_req(dev, "cli");
			struct eim_store_enqueued q;

			err = eim_store_enqueue(s, &r, fx_sign, NULL, &q);
			if (err)
				die(s, "cli", "enqueue", err);
		}
		/* Some operator work between enqueues. */
		{
			struct eim_store_device_new d = {0};

			fx_eid(1000 + round, d.eid);
			d.eim_id = "eim-1";
			err = eim_store_device_add(s, &d);
			if (err)
				die(s, "cli", "device add", err);
		}
		err = eim_store_audit_add(s, "note", NULL, "concurrency test");
		if (err)
			die(s, "cli", "audit", err);
		err = eim_store_package_counts(s, NULL, counts);
		if (err)
			die(s, "cli", "counts", err);
		eim_store_filter_init(&f);
		f.state = EIM_STORE_SENT;
		err = eim_store_package_list(s, &f, count_cb, &n);
		if (err)
			die(s, "cli", "list", err);
	}
	eim_store_close(s);
	_exit(0);
}

static void server(void)
{
	struct eim_store *s = open_as("server");
	struct eim_store_package p;
	struct stat sb;
	bool found, cli_done = false;
	int err, delivered;

	for (;;) {
		delivered = 0;
		cli_done = cli_done || stat(done_path, &sb) == 0;
		for (unsigned dev = 1; dev <= DEVICES; dev++) {
			struct eim_store_result_in ri = {0};
			char bytes[64];

			fx_eid(dev, ri.eid);
			err = eim_store_next(s, ri.eid, &p, &found);
			if (err)
				die(s, "server", "next", err);
			err = eim_store_device_seen(s, ri.eid, "127.0.0.1:1");
			if (err)
				die(s, "server", "seen", err);
			if (!found)
				continue;
			delivered++;
			snprintf(bytes, sizeof(bytes), "res|%u|%u", dev,
				 p.counter);
			ri.eim_id = p.eim_id;
			ri.counter = p.counter;
			ri.bytes = (const uint8_t *)bytes;
			ri.len = strlen(bytes);
			ri.summary = "ok";
			ri.seq_number = p.counter;
			err = eim_store_result_record(s, &ri, NULL);
			if (err)
				die(s, "server", "result", err);
		}
		if (cli_done && delivered == 0)
			break;
	}
	eim_store_close(s);
	_exit(0);
}

START_TEST(cli_and_server_share_the_file)
{
	struct fx f;
	uint64_t counts[EIM_STORE_STATE_COUNT];
	pid_t cli, srv;
	int st_cli, st_srv;
	FILE *fp;

	fx_setup(&f);
	fx_fleet(&f, DEVICES, 0);
	snprintf(db_path, sizeof(db_path), "%s", f.path);
	snprintf(done_path, sizeof(done_path), "%s/cli-done", f.dir);
	eim_store_close(f.s);
	f.s = NULL;

	srv = fork();
	ck_assert_int_ge(srv, 0);
	if (srv == 0)
		server();
	cli = fork();
	ck_assert_int_ge(cli, 0);
	if (cli == 0)
		cli_writer();

	ck_assert_int_eq(waitpid(cli, &st_cli, 0), cli);
	fp = fopen(done_path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(waitpid(srv, &st_srv, 0), srv);
	ck_assert_msg(WIFEXITED(st_cli) && WEXITSTATUS(st_cli) == 0,
		      "cli process failed (status %d; 9 = busy)", st_cli);
	ck_assert_msg(WIFEXITED(st_srv) && WEXITSTATUS(st_srv) == 0,
		      "server process failed (status %d; 9 = busy)", st_srv);

	fx_reopen(&f);
	ck_assert_int_eq(eim_store_package_counts(f.s, NULL, counts), 0);
	ck_assert_uint_eq(counts[EIM_STORE_DONE], DEVICES * PER_DEVICE);
	ck_assert_uint_eq(counts[EIM_STORE_QUEUED], 0);
	ck_assert_uint_eq(counts[EIM_STORE_SENT], 0);
	ck_assert_int_eq(eim_store_check(f.s), 0);
	fx_teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_concurrency");
	TCase *tc = tcase_create("two processes");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, cli_and_server_share_the_file);
	suite_add_tcase(s, tc);
	return fx_run(srunner_create(s));
}
