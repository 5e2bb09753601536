/*
 * kdex apikey create|list|revoke and kdex lp stats (issue 8; engineer J):
 * API keys for bots and liquidity statistics, over doc/lp.md's routes.
 * Requests go through cmd_trade.c's trade_call() (session, login, errors).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "kdex.h"
#include "util.h"

/* A JSON member as text: strings as they are, numbers whole, null "-". */
static const char *
lp_text(const cJSON *o, const char *name, char *buf, size_t len)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "yes" : "no";
	if (cJSON_IsNumber(v)) {
		snprintf(buf, len, "%.0f", v->valuedouble);
		return buf;
	}
	return "-";
}

static void
lp_print_json(const cJSON *j)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		fatalx("out of memory");
	printf("%s\n", s);
	free(s);
}

static int
apikey_create(const struct kdex_args *args)
{
	const char	*scope = kdex_args_get(args, "scope");
	const char	*label = kdex_args_get(args, "label");
	struct api	*a;
	cJSON		*body, *ans = NULL, *k;
	char		 b1[32];
	int		 rc;

	if (scope == NULL || (strcmp(scope, "trade") != 0 &&
	    strcmp(scope, "read") != 0))
		return kdex_usage();
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "scope", scope);
	if (label != NULL)
		cJSON_AddStringToObject(body, "label", label);
	a = trade_api();
	rc = trade_call(a, 1, "POST", "/apikeys", body, &ans);
	cJSON_Delete(body);
	if (rc == 0) {
		if (kdex_g.json)
			lp_print_json(ans);
		else {
			k = cJSON_GetObjectItemCaseSensitive(ans, "key");
			printf("id %s\nscope %s\nlabel %s\ncreated_at %s\n",
			    lp_text(k, "id", b1, sizeof b1),
			    lp_text(k, "scope", b1, sizeof b1),
			    lp_text(k, "label", b1, sizeof b1),
			    lp_text(k, "created_at", b1, sizeof b1));
			printf("secret %s\n", lp_text(ans, "secret", b1,
			    sizeof b1));
			fprintf(stderr, "kdex: the secret is shown only once: "
			    "keep it now\n");
		}
	}
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

static int
apikey_list(void)
{
	struct api	*a = trade_api();
	cJSON		*ans = NULL, *k;
	char		 b1[32], b2[32];
	int		 rc;

	if ((rc = trade_call(a, 1, "GET", "/apikeys", NULL, &ans)) == 0) {
		if (kdex_g.json)
			lp_print_json(ans);
		else {
			printf("ID\tSCOPE\tCREATED\tREVOKED\tLABEL\n");
			cJSON_ArrayForEach(k,
			    cJSON_GetObjectItemCaseSensitive(ans, "keys"))
				printf("%s\t%s\t%s\t%s\t%s\n",
				    lp_text(k, "id", b1, sizeof b1),
				    lp_text(k, "scope", b1, sizeof b1),
				    lp_text(k, "created_at", b1, sizeof b1),
				    lp_text(k, "revoked_at", b2, sizeof b2),
				    lp_text(k, "label", b1, sizeof b1));
		}
	}
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

static int
apikey_revoke(const char *id)
{
	struct api	*a = trade_api();
	cJSON		*body, *ans = NULL;
	char		*e, *path;
	int		 rc;

	e = api_escape(id);
	xasprintf(&path, "/apikeys/%s/revoke", e);
	free(e);
	body = cJSON_CreateObject();
	if ((rc = trade_call(a, 1, "POST", path, body, &ans)) == 0) {
		if (kdex_g.json)
			lp_print_json(ans);
		else
			printf("revoked %s\n", id);
	}
	cJSON_Delete(body);
	cJSON_Delete(ans);
	free(path);
	api_free(a);
	return rc;
}

int
cmd_apikey(int argc, char **argv)
{
	static const char *const spec_create[] = { "scope=", "label=", NULL };
	static const char *const spec_none[] = { NULL };
	struct kdex_args	 args;
	const char		*sub = argv[0];
	int			 rc;

	if (strcmp(sub, "create") == 0) {
		if (trade_args(&args, argc, argv, spec_create, 0, 0, &rc) != 0)
			return rc;
		return apikey_create(&args);
	}
	if (strcmp(sub, "list") == 0) {
		if (trade_args(&args, argc, argv, spec_none, 0, 0, &rc) != 0)
			return rc;
		return apikey_list();
	}
	if (trade_args(&args, argc, argv, spec_none, 1, 1, &rc) != 0)
		return rc;
	return apikey_revoke(args.pos[0]);
}

int
cmd_lp(int argc, char **argv)
{
	static const char *const spec[] = { "market=", NULL };
	struct kdex_args	 args;
	struct api		*a;
	const char		*m;
	cJSON			*ans = NULL, *x, *t, *q;
	char			*path, *e, b[6][32];
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	if ((m = kdex_args_get(&args, "market")) != NULL) {
		e = api_escape(m);
		xasprintf(&path, "/lp/stats?market=%s", e);
		free(e);
	} else
		path = xstrdup("/lp/stats");
	a = trade_api();
	if ((rc = trade_call(a, 1, "GET", path, NULL, &ans)) == 0) {
		if (kdex_g.json)
			lp_print_json(ans);
		else {
			printf("MARKET\tFILLS\tVOLUME\tVOLUME_QUOTE\t"
			    "MAKER_PPM\tTOP_BID_MS\tTOP_ASK_MS\tBID\tASK\t"
			    "SPREAD\tBID_DEPTH\tASK_DEPTH\n");
			cJSON_ArrayForEach(x,
			    cJSON_GetObjectItemCaseSensitive(ans, "markets")) {
				t = cJSON_GetObjectItemCaseSensitive(x,
				    "top_of_book");
				q = cJSON_GetObjectItemCaseSensitive(x,
				    "quote");
				printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t",
				    lp_text(x, "market", b[0], 32),
				    lp_text(x, "fills", b[0], 32),
				    lp_text(x, "volume", b[1], 32),
				    lp_text(x, "volume_quote", b[1], 32),
				    lp_text(x, "maker_share_ppm", b[2], 32),
				    lp_text(t, "bid_ms", b[3], 32),
				    lp_text(t, "ask_ms", b[4], 32));
				printf("%s\t%s\t%s\t%s\t%s\n",
				    lp_text(q, "bid", b[0], 32),
				    lp_text(q, "ask", b[0], 32),
				    lp_text(q, "spread", b[0], 32),
				    lp_text(q, "bid_depth", b[0], 32),
				    lp_text(q, "ask_depth", b[0], 32));
			}
		}
	}
	cJSON_Delete(ans);
	free(path);
	api_free(a);
	return rc;
}
