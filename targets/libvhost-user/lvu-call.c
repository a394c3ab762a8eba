/* SPDX-License-Identifier: MIT */
/*
 * The library call behind `map` / `unmap` and the worker thread of
 * --dispatch=worker (lvu.h).
 *
 * vu_shmem_map / vu_shmem_unmap send, then (with REPLY_ACK) read the
 * front-end's reply with a blocking recvmsg() under the library's
 * backend_mutex, retrying EAGAIN and EINTR; they return one bool. The
 * outcome answered on the control channel (protocol 2) is that bool and
 * what the library itself knew when it returned it, nothing judged here:
 * the verdicts must stay the library's.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "lvu.h"

/* ---- what the program says: its log line, its control answers ---- */

void lvu_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhu-lvu-backend[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void lvu_answer(struct lvu *l, bool ok, const char *text)
{
	int64_t deadline = chan_now_ms() + LVU_CTL_TIMEOUT_MS;

	pthread_mutex_lock(&l->ctl_lock);
	if (ok)
		ctl_send_ok(l->o->control_fd, text, deadline);
	else
		ctl_send_err(l->o->control_fd, text, deadline);
	pthread_mutex_unlock(&l->ctl_lock);
}

/* ---- the ledger of what the library reported as mapped ---- */

static void ledger_add(struct lvu *l, const struct lvu_job *j)
{
	if (l->nmaps < LVU_MAX_MAPS)
		l->maps[l->nmaps++] = (struct lvu_map){ j->shmid, j->shm_offset, j->len };
}

static void ledger_remove(struct lvu *l, const struct lvu_job *j)
{
	for (unsigned i = 0; i < l->nmaps; i++) {
		struct lvu_map *m = &l->maps[i];

		if (m->shmid == j->shmid && m->shm_offset == j->shm_offset &&
		    m->len == j->len) {
			*m = l->maps[--l->nmaps];
			return;
		}
	}
}

/* ---- the outcome ---- */

static unsigned panic_count(struct lvu *l, char *text, size_t cap)
{
	unsigned n;

	pthread_mutex_lock(&l->panic_lock);
	n = l->panics;
	if (text)
		snprintf(text, cap, "%s", l->last_panic);
	pthread_mutex_unlock(&l->panic_lock);
	return n;
}

/* The answer to a call that returned `ok`. A false the library returned
 * before writing anything (its own SHMEM check, or no back-end channel
 * to write to) is a refusal; any other false is the call's failure. */
static void describe(struct lvu *l, const struct lvu_job *j, bool ok,
		     unsigned panics_before, char *out, size_t cap, bool *is_err)
{
	const char *fn = j->is_map ? "vu_shmem_map" : "vu_shmem_unmap";
	uint64_t pf = l->dev.protocol_features;
	char panic[sizeof(l->last_panic)] = "";
	bool panicked = panic_count(l, panic, sizeof(panic)) != panics_before;

	*is_err = false;
	if (ok) {
		/* NEED_REPLY goes out exactly when REPLY_ACK is negotiated. */
		snprintf(out, cap, "result=%s",
			 pf & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) ? "0" : "sent");
		return;
	}
	*is_err = !(pf & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)) || l->dev.backend_fd < 0;
	if (!(pf & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)))
		snprintf(out, cap, "refused: %s returned false without sending: "
			 "VHOST_USER_PROTOCOL_F_SHMEM (bit %d) not negotiated", fn,
			 VHOST_USER_PROTOCOL_F_SHMEM);
	else if (l->dev.backend_fd < 0)
		snprintf(out, cap, "refused: %s returned false, no back-end channel "
			 "to send on%s%s", fn, panicked ? "; libvhost-user panic: " : "",
			 panicked ? panic : "");
	else
		snprintf(out, cap, "result=fail reason=%s returned false%s%s", fn,
			 panicked ? "; libvhost-user panic: " : "", panicked ? panic : "");
}

void lvu_call(struct lvu *l, const struct lvu_job *j)
{
	unsigned panics = panic_count(l, NULL, 0);
	bool ok = j->is_map ? vu_shmem_map(&l->dev, j->shmid, j->fd_offset, j->shm_offset,
					   j->len, j->flags, j->fd)
			    : vu_shmem_unmap(&l->dev, j->shmid, j->shm_offset, j->len);
	char text[CTL_LINE_MAX - 8];
	bool is_err;

	if (j->fd >= 0)
		close(j->fd);
	lvu_log("vu_shmem_%s(shmid=%u shm_offset=0x%llx len=0x%llx) returned %s",
		j->is_map ? "map" : "unmap", j->shmid, (unsigned long long)j->shm_offset,
		(unsigned long long)j->len, ok ? "true" : "false");
	pthread_mutex_lock(&l->worker.lock);
	if (ok && j->is_map)
		ledger_add(l, j);
	else if (ok)
		ledger_remove(l, j);
	pthread_mutex_unlock(&l->worker.lock);
	if (!j->answer)
		return;
	describe(l, j, ok, panics, text, sizeof(text), &is_err);
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';   /* panic texts may end in a newline */
	lvu_answer(l, !is_err, text);
}

/* ---- the worker (--dispatch=worker) ----
 *
 * The calls run here, one at a time in command order, so the main thread
 * keeps serving the main channel and the control channel meanwhile, as a
 * device's own threads would. No socket option or signal can bound the
 * library's wait; the main thread does: a call that outlives
 * --reply-timeout ends the process (exit 4). The default (30 s) is longer
 * than any case deadline, so under the harness a missing reply shows as
 * the library's own hang, not as our exit.
 */

static void *worker_main(void *arg)
{
	struct lvu *l = arg;
	struct lvu_worker *w = &l->worker;

	for (;;) {
		struct lvu_job j;

		pthread_mutex_lock(&w->lock);
		while (!w->stop && w->count == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		j = w->jobs[w->head];
		w->head = (w->head + 1) % LVU_MAX_JOBS;
		w->count--;
		w->busy_since_ms = chan_now_ms();
		pthread_mutex_unlock(&w->lock);
		if (j.is_answer)
			lvu_answer(l, j.answer_ok, j.text[0] ? j.text : NULL);
		else
			lvu_call(l, &j);
		pthread_mutex_lock(&w->lock);
		w->busy_since_ms = 0;
		pthread_mutex_unlock(&w->lock);
	}
}

int lvu_worker_start(struct lvu *l)
{
	struct lvu_worker *w = &l->worker;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (l->o->dispatch != LVU_DISPATCH_WORKER)
		return 0;   /* the lock still guards the ledger */
	if (pthread_create(&w->thread, NULL, worker_main, l) != 0)
		return -EAGAIN;
	w->started = true;
	return 0;
}

bool lvu_worker_push(struct lvu *l, const struct lvu_job *j)
{
	struct lvu_worker *w = &l->worker;
	bool ok;

	pthread_mutex_lock(&w->lock);
	ok = w->count < LVU_MAX_JOBS;
	if (ok) {
		w->jobs[(w->head + w->count) % LVU_MAX_JOBS] = *j;
		w->count++;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

void lvu_answer_ordered(struct lvu *l, bool ok, const char *text)
{
	struct lvu_job j = { .is_answer = true, .answer_ok = ok, .fd = -1 };

	snprintf(j.text, sizeof(j.text), "%s", text ? text : "");
	/* With protocol 2 a call's answer comes when it returns, and the
	 * harness may have sent more commands meanwhile: their answers wait
	 * their turn. A full queue answers at once (out of order). */
	if (!l->ctl_v2 || !lvu_worker_busy(l) || !lvu_worker_push(l, &j))
		lvu_answer(l, ok, text);
}

bool lvu_worker_busy(struct lvu *l)
{
	struct lvu_worker *w = &l->worker;
	bool busy;

	pthread_mutex_lock(&w->lock);
	busy = w->count || w->busy_since_ms;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

void lvu_worker_check_deadline(struct lvu *l)
{
	int64_t since;

	pthread_mutex_lock(&l->worker.lock);
	since = l->worker.busy_since_ms;
	pthread_mutex_unlock(&l->worker.lock);
	if (since && chan_now_ms() - since > l->o->reply_timeout_ms) {
		lvu_log("a vu_shmem_map/unmap call got no reply within %d ms; "
			"libvhost-user waits forever, so the process ends here",
			l->o->reply_timeout_ms);
		_exit(4);
	}
}

void lvu_worker_wait_idle(struct lvu *l, int max_ms)
{
	int64_t until = chan_now_ms() + max_ms;

	while (lvu_worker_busy(l) && chan_now_ms() < until)
		poll(NULL, 0, 2);
}

void lvu_worker_stop(struct lvu *l)
{
	struct lvu_worker *w = &l->worker;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
}
