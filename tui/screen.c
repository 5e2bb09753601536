/*
 * screen: the full-screen trading client (placeholder until it lands).
 */
#include "config.h"

#include <stdio.h>

#include "kdex.h"

int
cmd_ui(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return kdex_err(KDEX_EXIT_FAIL, "the full-screen client is not built yet");
}
