/* Fuzzes rendering through an engine (WFE_FUZZ_ENGINE: tekton, job, argo)
 * with WorkflowExecution JSON: the contract check, the engine's validate and
 * render, the checks of the engine's answer and the run's identity. */
#include <stddef.h>
#include <stdint.h>

#include "execution.h"
#include "fuzz_common.h"
#include "json_util.h"
#include "run_object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct wfe_engine_slot *slot = fuzz_engine(NULL, NULL);
  json_object *execution = wfe_json_parse((const char *)data, size);
  json_object *run = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (execution)
    wfe_run_render(slot, execution, WFE_EXECUTION_STRICT_FIELDS, NULL, &run,
                   &err);
  json_object_put(run);
  json_object_put(execution);
  wfe_error_clear(&err);
  return 0;
}
