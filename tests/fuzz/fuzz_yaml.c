/* Fuzzes the YAML reader and, on what it accepts, the WorkflowExecution
 * contract check: both read text from outside (files, the CLI, the API). */
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "execution.h"
#include "yaml_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_object *doc = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_yaml_parse((const char *)data, size, "fuzz", &doc, &err) == 0)
    wfe_execution_validate(doc, WFE_EXECUTION_STRICT_FIELDS, &err);
  json_object_put(doc);
  wfe_error_clear(&err);
  return 0;
}
