/*
 * kdexd_admin: the admin routes of doc/api.md. PLACEHOLDER written by the
 * kdexd part so the server links; the console part (engineer H) replaces
 * this file with the real routes.
 */
#include "config.h"

#include "kdexd_http.h"

int
kdexd_admin_route(struct kdexd_req *req, struct kdexd_resp *resp)
{
	(void)req;
	(void)resp;
	return (-1);
}
