/* Fuzzes an engine's (WFE_FUZZ_ENGINE: tekton, job, argo) reading of run
 * objects (a PipelineRun's, a Job's or a Workflow's status, as a cluster may
 * hand it over), its cancel patch, and the core's check of its answer. What
 * the engine lists (a Job's pods) is the input again: a seed that is a run
 * and a list at once ("status" and "items") reaches the reading of both. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dispatch.h"
#include "fuzz_common.h"
#include "json_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input being fuzzed, for the lister. */
struct fuzz_input {
  const char *data;
  size_t size;
};

static int echo_lister(void *ctx, const char *api_version, const char *resource,
                       const char *namespace_name, const char *label_selector,
                       const char *field_selector, struct wfe_buf *out,
                       struct wfe_error *err)
{
  const struct fuzz_input *input = ctx;
  return wfe_buf_append(out, input->data, input->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct fuzz_input input;
  input.data = (const char *)data;
  input.size = size;
  const struct wfe_engine_slot *slot = fuzz_engine(echo_lister, &input);
  json_object *run = wfe_json_parse((const char *)data, size);
  json_object *status = NULL;
  char *patch = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (run) {
    wfe_dispatch_interpret(slot, run, &status, &err);
    wfe_dispatch_cancel_patch(slot, run, &patch, &err);
  }
  free(patch);
  json_object_put(status);
  json_object_put(run);
  wfe_error_clear(&err);
  return 0;
}
