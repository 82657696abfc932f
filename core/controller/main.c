/*
 * wfe-controller: runs WorkflowExecutions by delegating each to a workflow
 * engine plugin. The subcommands: run (the controller), plugins (what the
 * plugin directory holds) and render (a run object, offline).
 */
#include <stdio.h>
#include <string.h>

#include <wfe/engine.h>

#include "cli.h"

static void usage(FILE *out)
{
  fputs("Usage: wfe-controller COMMAND [OPTIONS]\n"
        "\n"
        "Commands:\n"
        "  run       run the controller (--config FILE; see run --help)\n"
        "  plugins   list the engines the plugin directory provides\n"
        "  render    print the run object for a WorkflowExecution, offline\n"
        "\n"
        "Options:\n"
        "  --help     show this help; COMMAND --help for a command's\n"
        "  --version  show the version and the engine ABI version\n",
        out);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return WFE_EXIT_USAGE;
  }
  const char *command = argv[1];
  if (!strcmp(command, "--help") || !strcmp(command, "-h") ||
      !strcmp(command, "help")) {
    usage(stdout);
    return WFE_EXIT_OK;
  }
  if (!strcmp(command, "--version") || !strcmp(command, "version")) {
    printf("wfe-controller %s (engine ABI %d.%d)\n", WFE_VERSION,
           WFE_ENGINE_ABI_MAJOR, WFE_ENGINE_ABI_MINOR);
    return WFE_EXIT_OK;
  }
  /* Each command parses its own options from argv[1] on. */
  if (!strcmp(command, "plugins"))
    return wfe_cmd_plugins(argc - 1, argv + 1);
  if (!strcmp(command, "render"))
    return wfe_cmd_render(argc - 1, argv + 1);
  if (!strcmp(command, "run"))
    return wfe_cmd_run(argc - 1, argv + 1);
  fprintf(stderr, "wfe-controller: unknown command \"%s\"\n", command);
  usage(stderr);
  return WFE_EXIT_USAGE;
}
