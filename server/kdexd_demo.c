/*
 * kdexd_demo: --demo users with funds and a small market maker.
 */
#include "config.h"

#include "kdexd.h"

int demo_init(struct kdexd *s, char **cause) { (void)s; (void)cause; return 0; }
void demo_cron(struct kdexd *s) { (void)s; }
