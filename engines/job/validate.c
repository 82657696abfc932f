/*
 * Checking what the Job needs of a WorkflowExecution beyond the generic
 * contract the host already enforced and the kit's reading of it (the image
 * the Job runs a valid reference, a sha256 digest that does not contradict
 * it, a valid service account name): parameters that can be environment
 * variables, that is string values under names of [A-Za-z_][A-Za-z0-9_]*
 * (the CRD's UPPER_SNAKE_CASE always passes). Render reads through the same
 * code, so it never emits a Job that validate would refuse.
 */
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* Environment variables: the portable name (a C identifier, which every
 * shell and runtime the workflow's image may use accepts) and a value
 * without NUL (the environment cannot hold one). */
static const struct ek_parameter_rule env_var = {
    .name_extra = "",
    .name_rule = "parameters become environment variables, whose names "
                 "start with a letter or '_' and contain only letters, "
                 "digits and '_'",
    .value_rule = "parameters are passed to the Job as environment variables",
    .refuse_nul = 1,
};

/* The kit's parameters hook: in name order, so the first error reported
 * does not depend on the document's member order. */
int job_check_parameters(const struct ek_ctx *ctx,
                         const struct ek_execution *execution)
{
  for (size_t i = 0; i < execution->parameter_count; i++) {
    const char *name = execution->parameter_names[i];
    int rc =
        ek_check_parameter(ctx, &env_var, name,
                           json_object_object_get(execution->parameters, name));
    if (rc != WFE_OK)
      return rc;
  }
  return WFE_OK;
}

int32_t job_validate(void *instance, const char *execution_json,
                     size_t execution_len, wfe_error *err)
{
  return ek_validate(instance, execution_json, execution_len,
                     job_check_parameters, err);
}
