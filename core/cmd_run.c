/*
 * `wfe-controller run`: the controller. Configuration from --config, then
 * flags on top, named as Kubernetes controllers name them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "manager.h"

static void usage(FILE *out)
{
  fputs(
      "Usage: wfe-controller run [--config FILE] [flags]\n"
      "\n"
      "Runs the WorkflowExecution controller. Flags override the file.\n"
      "\n"
      "  --config FILE                      configuration file (YAML)\n"
      "  --kubeconfig FILE                  kubeconfig; default: KUBECONFIG,\n"
      "                                     in-cluster, ~/.kube/config\n"
      "  --namespaces a,b                   namespaces to watch (default all)\n"
      "  --execution-namespace NS           create runs in NS (default: each\n"
      "                                     WorkflowExecution's own)\n"
      "  --plugins-dir DIR                  engine plugin directory\n"
      "  --required-engines a,b             fail start-up without these\n"
      "  --default-engine NAME              engine when none is named\n"
      "  --workers N                        concurrent reconciles (4)\n"
      "  --leader-elect[=true|false]        elect a leader on a Lease\n"
      "  --leader-election-namespace NS     the Lease's namespace\n"
      "  --leader-election-id NAME          the Lease's name\n"
      "  --metrics-bind-address ADDR        /metrics (\":9090\"; \"0\" off)\n"
      "  --health-probe-bind-address ADDR   /healthz, /readyz (\":8081\")\n"
      "  --log-format json|text             log format (json)\n"
      "  --log-level error|warn|info|debug  log level (info)\n",
      out);
}

enum {
  OPT_CONFIG = 256,
  OPT_KUBECONFIG,
  OPT_NAMESPACES,
  OPT_EXECUTION_NAMESPACE,
  OPT_PLUGINS_DIR,
  OPT_REQUIRED_ENGINES,
  OPT_DEFAULT_ENGINE,
  OPT_WORKERS,
  OPT_LEADER_ELECT,
  OPT_LEADER_NAMESPACE,
  OPT_LEADER_ID,
  OPT_METRICS,
  OPT_PROBES,
  OPT_LOG_FORMAT,
  OPT_LOG_LEVEL,
};

static const struct option options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"namespaces", required_argument, NULL, OPT_NAMESPACES},
    {"execution-namespace", required_argument, NULL, OPT_EXECUTION_NAMESPACE},
    {"plugins-dir", required_argument, NULL, OPT_PLUGINS_DIR},
    {"required-engines", required_argument, NULL, OPT_REQUIRED_ENGINES},
    {"default-engine", required_argument, NULL, OPT_DEFAULT_ENGINE},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"leader-elect", optional_argument, NULL, OPT_LEADER_ELECT},
    {"leader-election-namespace", required_argument, NULL,
     OPT_LEADER_NAMESPACE},
    {"leader-election-id", required_argument, NULL, OPT_LEADER_ID},
    {"metrics-bind-address", required_argument, NULL, OPT_METRICS},
    {"health-probe-bind-address", required_argument, NULL, OPT_PROBES},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Applies one flag; the file was read first, so flags win. */
static int apply_flag(struct wfe_config *c, int opt, const char *arg,
                      struct wfe_error *err)
{
  switch (opt) {
  case OPT_KUBECONFIG:
    return wfe_config_set_string(&c->kubeconfig, arg);
  case OPT_NAMESPACES:
    return wfe_config_set_list(&c->namespaces, &c->namespace_count, arg);
  case OPT_EXECUTION_NAMESPACE:
    return wfe_config_set_string(&c->execution_namespace, *arg ? arg : NULL);
  case OPT_PLUGINS_DIR:
    return wfe_config_set_string(&c->plugins_dir, arg);
  case OPT_REQUIRED_ENGINES:
    return wfe_config_set_list(&c->required_engines, &c->required_engine_count,
                               arg);
  case OPT_DEFAULT_ENGINE:
    return wfe_config_set_string(&c->default_engine, arg);
  case OPT_WORKERS: {
    char *end = NULL;
    long n = strtol(arg, &end, 10);
    if (*end || n < 1 || n > 256)
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag", "workers",
                           "--workers: must be between 1 and 256");
    c->workers = (int)n;
    return 0;
  }
  case OPT_LEADER_ELECT:
    if (!arg || !strcmp(arg, "true"))
      c->leader_elect = 1;
    else if (!strcmp(arg, "false"))
      c->leader_elect = 0;
    else
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag",
                           "leaderElection.enabled",
                           "--leader-elect: must be true or false");
    return 0;
  case OPT_LEADER_NAMESPACE:
    return wfe_config_set_string(&c->leader_election_namespace, arg);
  case OPT_LEADER_ID:
    return wfe_config_set_string(&c->leader_election_id, arg);
  case OPT_METRICS:
    return wfe_config_set_string(&c->metrics_bind_address, arg);
  case OPT_PROBES:
    return wfe_config_set_string(&c->health_probe_bind_address, arg);
  case OPT_LOG_FORMAT:
    return wfe_config_set_string(&c->log_format, arg);
  case OPT_LOG_LEVEL:
    return wfe_config_set_string(&c->log_level, arg);
  default:
    return WFE_E_INVALID;
  }
}

int wfe_cmd_run(int argc, char **argv)
{
  struct wfe_config config;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_config_init(&config))
    return WFE_EXIT_FAILURE;
  int exit_code = WFE_EXIT_USAGE, opt;
  /* The file first, wherever --config stands, so every flag overrides it. */
  for (int i = 1; i < argc; i++) {
    const char *file = NULL;
    if (!strcmp(argv[i], "--config") && i + 1 < argc)
      file = argv[i + 1];
    else if (!strncmp(argv[i], "--config=", 9))
      file = argv[i] + 9;
    if (file && wfe_config_load_file(&config, file, &err))
      goto out;
  }
  while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    if (opt == 'h') {
      usage(stdout);
      exit_code = WFE_EXIT_OK;
      goto out;
    }
    if (opt == '?') {
      usage(stderr);
      goto out;
    }
    if (opt != OPT_CONFIG && apply_flag(&config, opt, optarg, &err)) {
      if (!err.code)
        wfe_error_set(&err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
      goto out;
    }
  }
  if (optind < argc) {
    usage(stderr);
    goto out;
  }
  if (wfe_config_validate(&config, &err))
    goto out;
  enum wfe_log_format format = WFE_LOG_FORMAT_JSON;
  int level = WFE_LOG_INFO;
  wfe_log_parse_format(config.log_format, &format);
  wfe_log_parse_level(config.log_level, &level);
  wfe_log_setup(format, level, stderr);
  exit_code = wfe_manager_run(&config, &err) ? WFE_EXIT_FAILURE : WFE_EXIT_OK;
out:
  if (err.code)
    wfe_cli_error(&err);
  wfe_error_clear(&err);
  wfe_config_free(&config);
  return exit_code;
}
