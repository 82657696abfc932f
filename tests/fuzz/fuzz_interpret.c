/* Fuzzes the tekton engine's reading of run objects (PipelineRun status, as
 * a cluster may hand it over) and the core's check of its answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dispatch.h"
#include "fuzz_common.h"
#include "json_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct wfe_engine_slot *slot = fuzz_tekton();
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
