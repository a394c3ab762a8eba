/* SPDX-License-Identifier: MIT */
#include "runenv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan.h"
#include "target.h"

/* A template that cannot be split is a usage error before any case, not
 * an ERROR in every one. */
static int check_cmd(const char *cmd, char *err, size_t errcap)
{
	/* Values as long as the real ones can be. */
	static const struct target_subst probe = { "2147483647",
		"/tmp/vhucheck-XXXXXX/s4294967295.sock", "2147483647", "63" };
	struct target_argv *argv = malloc(sizeof(*argv));
	char why[200];
	int rc;

	if (!argv) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	rc = target_split(cmd, &probe, argv, why, sizeof(why));
	free(argv);
	if (rc < 0)
		snprintf(err, errcap, "--target-cmd: %s", why);
	return rc;
}

static int check_env(const struct runenv *e, char *err, size_t errcap)
{
	int modes = !!e->target_cmd + !!e->connect_path + !!e->listen_path;
	int rc;

	if (modes != 1) {
		snprintf(err, errcap, "give exactly one of --target-cmd, --connect, "
			 "--listen");
		return -EINVAL;
	}
	if (e->target_cmd && !target_cmd_has(e->target_cmd, "{fd}") &&
	    !target_cmd_has(e->target_cmd, "{socket}")) {
		snprintf(err, errcap, "--target-cmd needs {fd} or {socket} to give "
			 "the target its connection");
		return -EINVAL;
	}
	if (e->target_cmd && (rc = check_cmd(e->target_cmd, err, errcap)) < 0)
		return rc == -ENOMEM ? rc : -EINVAL;
	if (!(e->timeout_mult > 0) || e->timeout_mult > 1000) {
		snprintf(err, errcap, "--timeout-multiplier must be > 0 and <= 1000");
		return -EINVAL;
	}
	if (e->shmem_bit > 63) {
		snprintf(err, errcap, "--shmem-bit must be 0..63");
		return -EINVAL;
	}
	return 0;
}

int runenv_open(struct runenv *e, char *err, size_t errcap)
{
	const char *tmp = getenv("TMPDIR");
	int rc = check_env(e, err, errcap);

	e->listen_fd = -1;
	e->seq = 0;
	e->ahead = NULL;
	e->drop_ahead = NULL;
	if (rc < 0)
		return rc;
	if (e->trace_dir && mkdir(e->trace_dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errcap, "%s: %s", e->trace_dir, strerror(errno));
		return rc;
	}
	snprintf(e->tmpdir, sizeof(e->tmpdir), "%s/vhucheck-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(e->tmpdir)) {
		rc = -errno;
		snprintf(err, errcap, "%s: %s", e->tmpdir, strerror(errno));
		e->tmpdir[0] = '\0';
		return rc;
	}
	if (e->listen_path) {
		e->listen_fd = chan_listen(e->listen_path);
		if (e->listen_fd < 0) {
			rc = e->listen_fd;
			snprintf(err, errcap, "%s: %s", e->listen_path, strerror(-rc));
			runenv_close(e);
			return rc;
		}
	}
	return 0;
}

void runenv_close(struct runenv *e)
{
	if (e->ahead && e->drop_ahead)
		e->drop_ahead(e);
	if (e->listen_fd >= 0) {
		close(e->listen_fd);
		unlink(e->listen_path);
	}
	e->listen_fd = -1;
	if (e->tmpdir[0])
		rmdir(e->tmpdir);
	e->tmpdir[0] = '\0';
}
