/*
 * The admin API's PostgreSQL connections: a fixed pool, one per HTTP thread, so a request never
 * waits for another's query unless every thread is busy. A connection found broken is reset
 * before use, so a database restart costs the requests in flight, not the process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

int api_db_pool_init(struct api_db_pool *p, const char *conninfo, uint32_t n)
{
	memset(p, 0, sizeof(*p));
	p->conns = calloc(n, sizeof(*p->conns));
	p->busy = calloc(n, sizeof(*p->busy));
	if (!p->conns || !p->busy) {
		free(p->conns);
		free(p->busy);
		return -ENOMEM;
	}
	p->n = n;
	snprintf(p->conninfo, sizeof(p->conninfo), "%s", conninfo);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return 0;
}

void api_db_pool_fini(struct api_db_pool *p)
{
	if (!p->conns)
		return;
	for (uint32_t i = 0; i < p->n; i++)
		if (p->conns[i])
			PQfinish(p->conns[i]);
	free(p->conns);
	free(p->busy);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	p->conns = NULL;
}

PGconn *api_db_get(struct api_db_pool *p)
{
	uint32_t i;
	PGconn *c;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (i = 0; i < p->n && p->busy[i]; i++)
			;
		if (i < p->n)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->busy[i] = true;
	pthread_mutex_unlock(&p->mu);

	c = p->conns[i];
	if (!c) {
		c = PQconnectdb(p->conninfo);
		p->conns[i] = c;
	} else if (PQstatus(c) != CONNECTION_OK) {
		PQreset(c);
	}
	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	api_db_put(p, c);
	return NULL;
}

void api_db_put(struct api_db_pool *p, PGconn *c)
{
	pthread_mutex_lock(&p->mu);
	for (uint32_t i = 0; i < p->n; i++)
		if (p->conns[i] == c && p->busy[i]) {
			p->busy[i] = false;
			/* A connection left inside a failed transaction would fail every later
			 * statement: roll back whatever the handler did not finish. */
			if (c && PQtransactionStatus(c) != PQTRANS_IDLE)
				PQclear(PQexec(c, "ROLLBACK"));
			break;
		}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

PGresult *api_db_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err,
		      size_t errlen)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	snprintf(err, errlen, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c));
	err[strcspn(err, "\n")] = 0;
	PQclear(res);
	return NULL;
}

PGconn *db_or_503(struct api_req *q, struct api_resp *r)
{
	PGconn *c = api_db_get(&q->s->db);

	if (!c)
		api_resp_error(r, 503, NULL, "database unavailable");
	return c;
}

void db_fail(struct api_resp *r, const char *what, const char *err)
{
	fprintf(stderr, "tradsys-controlplane: %s: %s\n", what, err);
	api_resp_error(r, 503, NULL, "database error while %s", what);
}

bool is_unique_violation(const char *err)
{
	return strstr(err, "duplicate key") != NULL;
}

uint64_t api_db_next_id(PGconn *c, const char *seq)
{
	char sql[96], err[256];
	PGresult *res;
	uint64_t v = 0;

	snprintf(sql, sizeof(sql), "SELECT nextval('%s')", seq);
	res = api_db_exec(c, sql, 0, NULL, err, sizeof(err));
	if (res) {
		v = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	return v;
}
