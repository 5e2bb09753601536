/*
 * kdex keeta: inspect Keeta keys, blocks, votes and staples.
 */
#include "config.h"

#include <stdio.h>

#include "kdex.h"

int
cmd_keeta(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "kdex keeta: not implemented yet\n");
	return 1;
}
