/*
 * `wfe-controller run`: the controller. Configuration from --config, then
 * flags on top, named as Kubernetes controllers name them.
 */
#include <stdio.h>

#include "cli.h"
#include "log.h"
#include "manager.h"

static const char usage_text[] =
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
    "  --metrics-bind-address ADDR        /metrics (\":8443\", plain "
    "\":9090\";\n"
    "                                     \"0\" off)\n"
    "  --metrics-secure[=true|false]      HTTPS, each scrape authenticated "
    "and\n"
    "                                     authorized by the API server (true)\n"
    "  --metrics-cert-file FILE           metrics serving certificate (PEM);\n"
    "                                     default: self-signed, generated\n"
    "  --metrics-key-file FILE            its private key (PEM)\n"
    "  --health-probe-bind-address ADDR   /healthz, /readyz (\":8081\")\n"
    "  --log-format json|text             log format (json)\n"
    "  --log-level error|warn|info|debug  log level (info)\n"
    "  --engine-isolation process|none    engines in sandboxed engine hosts\n"
    "                                     (process) or in the controller\n";

static const struct option options[] = {
    {"config", required_argument, NULL, WFE_CLI_CONFIG},
    {"kubeconfig", required_argument, NULL, WFE_CLI_KUBECONFIG},
    {"namespaces", required_argument, NULL, WFE_CLI_NAMESPACES},
    {"execution-namespace", required_argument, NULL,
     WFE_CLI_EXECUTION_NAMESPACE},
    {"plugins-dir", required_argument, NULL, WFE_CLI_PLUGINS_DIR},
    {"required-engines", required_argument, NULL, WFE_CLI_REQUIRED_ENGINES},
    {"default-engine", required_argument, NULL, WFE_CLI_DEFAULT_ENGINE},
    {"workers", required_argument, NULL, WFE_CLI_WORKERS},
    {"leader-elect", optional_argument, NULL, WFE_CLI_LEADER_ELECT},
    {"leader-election-namespace", required_argument, NULL,
     WFE_CLI_LEADER_NAMESPACE},
    {"leader-election-id", required_argument, NULL, WFE_CLI_LEADER_ID},
    {"metrics-bind-address", required_argument, NULL, WFE_CLI_METRICS},
    {"metrics-secure", optional_argument, NULL, WFE_CLI_METRICS_SECURE},
    {"metrics-cert-file", required_argument, NULL, WFE_CLI_METRICS_CERT_FILE},
    {"metrics-key-file", required_argument, NULL, WFE_CLI_METRICS_KEY_FILE},
    {"health-probe-bind-address", required_argument, NULL, WFE_CLI_PROBES},
    {"log-format", required_argument, NULL, WFE_CLI_LOG_FORMAT},
    {"log-level", required_argument, NULL, WFE_CLI_LOG_LEVEL},
    {"engine-isolation", required_argument, NULL, WFE_CLI_ENGINE_ISOLATION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int wfe_cmd_run(int argc, char **argv)
{
  const struct wfe_cli_command command = {.usage = usage_text,
                                          .options = options};
  struct wfe_config config;
  struct wfe_error err = WFE_ERROR_INIT;
  int exit_code = wfe_cli_parse(&command, argc, argv, &config, &err);
  if (exit_code != WFE_CLI_CONTINUE)
    return wfe_cli_finish(exit_code, &config, &err);
  if (wfe_config_validate(&config, &err))
    return wfe_cli_finish(WFE_EXIT_USAGE, &config, &err);
  enum wfe_log_format format = WFE_LOG_FORMAT_JSON;
  int level = WFE_LOG_INFO;
  wfe_log_parse_format(config.log_format, &format);
  wfe_log_parse_level(config.log_level, &level);
  wfe_log_setup(format, level, stderr);
  exit_code = wfe_manager_run(&config, &err) ? WFE_EXIT_FAILURE : WFE_EXIT_OK;
  return wfe_cli_finish(exit_code, &config, &err);
}
