/* Fuzzes dispatch and the tekton engine with WorkflowExecution JSON: the
 * contract check, the engine's validate and render, and the checks of the
 * engine's answer. */
#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "fuzz_common.h"
#include "json_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct wfe_engine_slot *slot = fuzz_tekton();
  json_object *execution = wfe_json_parse((const char *)data, size);
  json_object *run = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (execution)
    wfe_dispatch_render(slot, execution, NULL, &run, &err);
  json_object_put(run);
  json_object_put(execution);
  wfe_error_clear(&err);
  return 0;
}
