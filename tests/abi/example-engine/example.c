/*
 * An example third-party engine, built out of tree against the installed
 * <wfe/engine.h> only (no JSON library, nothing from wfe). Its "run object"
 * is a ConfigMap, which shows that the core creates and watches whatever an
 * engine declares. It renders a fixed document and reads "data.phase" back.
 */
#include <stdio.h>
#include <string.h>

#include <wfe/engine.h>

static const wfe_run_type run_type = {
    sizeof(wfe_run_type), "v1", "ConfigMap", "configmaps", 0,
};

static const wfe_host *host_table;

static int32_t example_create(const wfe_host *host, const char *config,
                              size_t config_len, void **out, wfe_error *err)
{
  (void)config;
  (void)config_len;
  (void)err;
  host_table = host;
  *out = NULL;
  return WFE_OK;
}

static void example_destroy(void *instance)
{
  (void)instance;
}

static int32_t example_validate(void *instance, const char *json, size_t len,
                                wfe_error *err)
{
  (void)instance;
  (void)json;
  (void)len;
  (void)err;
  return WFE_OK;
}

static int32_t example_render(void *instance, const char *json, size_t len,
                              wfe_buf *out, wfe_error *err)
{
  static const char doc[] =
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
      "\"metadata\":{\"name\":\"example-run\"},\"data\":{\"phase\":\"\"}}";
  (void)instance;
  (void)json;
  (void)len;
  if (host_table->buf_append(out, doc, sizeof(doc) - 1) != WFE_OK) {
    host_table->error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    return WFE_E_NOMEM;
  }
  return WFE_OK;
}

static int32_t example_interpret(void *instance, const char *json, size_t len,
                                 wfe_buf *out, wfe_error *err)
{
  static const char done[] =
      "{\"phase\":\"Completed\",\"outcome\":\"Success\"}";
  static const char running[] = "{\"phase\":\"Running\"}";
  const char *answer = running;
  (void)instance;
  /* A real engine parses the JSON; the example only looks for a marker. */
  for (size_t i = 0; i + 16 <= len; i++)
    if (memcmp(json + i, "\"phase\":\"Done\"", 14) == 0)
      answer = done;
  if (host_table->buf_append(out, answer, strlen(answer)) != WFE_OK) {
    host_table->error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    return WFE_E_NOMEM;
  }
  return WFE_OK;
}

static int32_t example_cancel(void *instance, const char *json, size_t len,
                              wfe_buf *out, wfe_error *err)
{
  (void)instance;
  (void)json;
  (void)len;
  host_table->error_set(err, WFE_E_UNSUPPORTED, 0, "NotCancellable", NULL,
                        "example runs cannot be cancelled");
  (void)out;
  return WFE_E_UNSUPPORTED;
}

static const wfe_engine example_engine = {
    sizeof(wfe_engine),
    "example",
    "1.0.0",
    "An out-of-tree example engine",
    &run_type,
    example_create,
    example_destroy,
    example_validate,
    example_render,
    example_interpret,
    example_cancel,
    NULL,
    NULL,
};

static const wfe_engine *const engines[] = {&example_engine};

WFE_PLUGIN_DEFINE("example", "1.0.0", NULL, NULL, engines)
