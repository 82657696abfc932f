/* `wfe-controller run`: placeholder until the controller lands. */
#include <stdio.h>

#include "cli.h"

int wfe_cmd_run(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  fputs("wfe-controller: run is not available yet\n", stderr);
  return WFE_EXIT_FAILURE;
}
