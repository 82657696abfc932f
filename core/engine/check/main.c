/*
 * wfe-engine-check PLUGIN.so [--vectors DIR] [--config FILE] [--engine NAME]
 *                  [-o text|tap|json] [--valgrind]
 *
 * The conformance kit for engine plugins, installed with the SDK: loads the
 * plugin as the controller does and runs the contract of docs/plugin-abi.md
 * as named checks (docs/engine-check.md). Exits 0 when every check passed,
 * 1 when one failed, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "json_util.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "Usage: wfe-engine-check PLUGIN.so [--vectors DIR] [--config FILE]\n"
    "                        [--engine NAME] [-o text|tap|json] "
    "[--valgrind]\n"
    "\n"
    "Loads an engine plugin as wfe-controller does and checks it against\n"
    "the engine contract: descriptor, create, render and interpret of the\n"
    "test vectors in DIR, determinism, run names, cancel, error records,\n"
    "robustness and concurrency. --config is the engine's configuration\n"
    "(JSON). --valgrind (or WFE_ENGINE_CHECK_VALGRIND=1) also runs the kit\n"
    "under valgrind and fails the check \"leaks\" on any error or leak.\n"
    "Exits 0 when every check passed, 1 when one failed, 2 on usage errors.\n";

/* What the checks feed the engine when the vectors bring no execution. */
static const char default_execution[] =
    "{\"apiVersion\":\"kubernaut.ai/v1alpha1\",\"kind\":\"WorkflowExecution\","
    "\"metadata\":{\"name\":\"check-restart\",\"namespace\":\"demo\","
    "\"uid\":\"0f8e1a52-5c3b-4d1e-9a7f-3c2b1a000000\",\"generation\":1},"
    "\"spec\":{\"remediationRequestRef\":{\"apiVersion\":\"kubernaut.ai/"
    "v1alpha1\",\"kind\":\"RemediationRequest\",\"name\":\"rr-1\","
    "\"namespace\":\"demo\"},\"workflowRef\":{\"workflowId\":\"restart\","
    "\"version\":\"1.0.0\",\"containerImage\":\"quay.io/kubernaut/"
    "restart:v1\"},\"parameters\":{\"TARGET\":\"deployment/web\"},"
    "\"confidence\":0.9}}";

struct options {
  const char *plugin;
  const char *vectors;
  const char *config;
  const char *engine;
  enum check_format format;
  int valgrind;
};

static int parse_format(const char *s, enum check_format *out)
{
  if (strcmp(s, "text") == 0)
    *out = CHECK_TEXT;
  else if (strcmp(s, "tap") == 0)
    *out = CHECK_TAP;
  else if (strcmp(s, "json") == 0)
    *out = CHECK_JSON;
  else
    return -1;
  return 0;
}

/* Returns 0, or EXIT_USAGE after printing why (-1: --help, exit 0). */
static int parse_options(int argc, char **argv, struct options *o)
{
  static const struct option long_options[] = {
      {"vectors", required_argument, NULL, 'v'},
      {"config", required_argument, NULL, 'c'},
      {"engine", required_argument, NULL, 'e'},
      {"output", required_argument, NULL, 'o'},
      {"valgrind", no_argument, NULL, 'V'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *env = getenv("WFE_ENGINE_CHECK_VALGRIND");
  o->valgrind = env && strcmp(env, "1") == 0;
  int opt;
  while ((opt = getopt_long(argc, argv, "o:h", long_options, NULL)) != -1) {
    if (opt == 'v')
      o->vectors = optarg;
    else if (opt == 'c')
      o->config = optarg;
    else if (opt == 'e')
      o->engine = optarg;
    else if (opt == 'V')
      o->valgrind = 1;
    else if (opt == 'o' && parse_format(optarg, &o->format) == 0)
      continue;
    else if (opt == 'h')
      return fputs(usage_text, stdout), -1;
    else
      return fputs(usage_text, stderr), EXIT_USAGE;
  }
  if (optind != argc - 1)
    return fputs(usage_text, stderr), EXIT_USAGE;
  o->plugin = argv[optind];
  return 0;
}

/* The config, the vectors and the inputs the checks share. 0, or a WFE_E_*
 * code with `err` (a usage error: the kit cannot start). */
static int prepare(struct check_kit *kit, const struct options *o,
                   struct wfe_error *err)
{
  int rc = 0;
  if (o->config)
    rc = check_read_file(o->config, &kit->config, &kit->config_len, err);
  else if (!(kit->config = strdup("{}")))
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  else
    kit->config_len = 2;
  if (!rc && o->vectors)
    rc = check_vectors_read(o->vectors, &kit->vectors, err);
  if (rc)
    return rc;
  const struct check_vectors *v = &kit->vectors;
  const char *execution = default_execution;
  const struct check_case *run = NULL;
  for (size_t i = v->render_count; i-- > 0;)
    if (!v->render[i].expects_error && !v->render[i].config)
      execution = v->render[i].input; /* the first that renders as is */
  kit->execution = strdup(execution);
  kit->execution_len = strlen(execution);
  for (size_t i = v->interpret_count; i-- > 0;)
    if (!v->interpret[i].expects_error)
      run = &v->interpret[i]; /* the first that interprets */
  if (run) {
    kit->run = strdup(run->input);
    kit->run_len = run->input_len;
  }
  if (!kit->execution || (run && !kit->run))
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  return 0;
}

/* Without interpret vectors: a run of the engine's type with no status yet,
 * built without calling the engine (a crash here would end the kit). The
 * type's strings come from the plugin: json-c quotes them. */
static int default_run(struct check_kit *kit)
{
  static const char base[] =
      "{\"metadata\":{\"name\":\"check-run\",\"namespace\":\"demo\","
      "\"uid\":\"7d1e0c9a-0000-4000-8000-000000000001\"},\"spec\":{}}";
  const wfe_run_type *rt = kit->engine->run_type;
  if (kit->run)
    return 0;
  json_object *run = wfe_json_parse(base, sizeof(base) - 1);
  size_t len = 0;
  const char *text = NULL;
  if (run && wfe_json_set_string(run, "apiVersion", rt->api_version) == 0 &&
      wfe_json_set_string(run, "kind", rt->kind) == 0)
    text = wfe_json_text(run, &len);
  kit->run = text ? strdup(text) : NULL;
  kit->run_len = len;
  json_object_put(run);
  return kit->run ? 0 : WFE_E_NOMEM;
}

/* Every check in order; stops early only when the plugin cannot be used.
 * Returns 0 or WFE_E_NOMEM. */
static int run_checks(struct check_kit *kit)
{
  int rc = check_load(kit);
  if (rc)
    return rc > 0 ? 0 : rc;
  struct wfe_buf why = WFE_BUF_INIT;
  rc = wfe_plugin_image_open(kit->plugin_path, &kit->services.table,
                             &kit->image, &why);
  if (rc > 0)
    rc = check_report_add(&kit->report, "descriptor.version", 0, 0,
                          wfe_buf_str(&why));
  wfe_buf_free(&why);
  if (rc || !kit->image)
    return rc;
  rc = check_descriptor(kit);
  if (!rc)
    rc = default_run(kit);
  if (!rc)
    rc = check_create(kit);
  if (rc || !kit->created)
    return rc > 0 ? 0 : rc;
  int (*const checks[])(struct check_kit *) = {
      check_render,     check_interpret,   check_errors,
      check_robustness, check_concurrency,
  };
  for (size_t i = 0; !rc && i < sizeof(checks) / sizeof(checks[0]); i++)
    rc = checks[i](kit);
  return rc;
}

static void kit_free(struct check_kit *kit)
{
  wfe_plugin_image_close(kit->image);
  check_vectors_free(&kit->vectors);
  check_report_free(&kit->report);
  free(kit->config);
  free(kit->execution);
  free(kit->run);
}

int main(int argc, char **argv)
{
  struct options o = {0};
  int usage = parse_options(argc, argv, &o);
  if (usage)
    return usage < 0 ? 0 : usage;
  /* dlopen searches the library path for a name without a slash; the
   * loader is given the file itself, as the controller gives it. */
  char *plugin_path = realpath(o.plugin, NULL);
  if (!plugin_path) {
    fprintf(stderr, "wfe-engine-check: %s: %s\n", o.plugin, strerror(errno));
    return EXIT_USAGE;
  }
  char *self = check_self_path();
  if (!self) {
    fprintf(stderr, "wfe-engine-check: cannot find its own program: %s\n",
            strerror(errno));
    free(plugin_path);
    return EXIT_USAGE;
  }
  struct check_kit kit = {.self = self,
                          .argv = argv,
                          .plugin_path = plugin_path,
                          .engine_name = o.engine};
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = prepare(&kit, &o, &err);
  if (rc) {
    fprintf(stderr, "wfe-engine-check: %s\n", wfe_error_message(&err));
    wfe_error_clear(&err);
    kit_free(&kit);
    free(plugin_path);
    free(self);
    return EXIT_USAGE;
  }
  check_host_init(&kit.services, &kit.vectors);
  rc = run_checks(&kit);
  if (getenv(CHECK_ONLY_ENV)) {
    /* Started for one check, which would have ended this process. */
    kit_free(&kit);
    free(plugin_path);
    free(self);
    return CHECK_EXIT_NOT_REACHED;
  }
  if (!rc && o.valgrind)
    rc = check_leaks(&kit, argc, argv);
  else if (!rc)
    rc = check_report_add(&kit.report, "leaks", 1, 1,
                          "not requested (--valgrind)");
  if (!rc)
    rc = check_report_print(&kit.report, o.format);
  int failed = rc || check_report_failed(&kit.report) > 0;
  if (rc)
    fputs("wfe-engine-check: out of memory\n", stderr);
  kit_free(&kit);
  free(plugin_path);
  free(self);
  return failed ? 1 : 0;
}
