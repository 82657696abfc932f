/*
 * Checking what Tekton needs of a WorkflowExecution beyond the generic
 * contract the host already enforced and the kit's reading of it (a bundle
 * reference Tekton can resolve, a digest that does not contradict the
 * image's own, a valid service account name): string parameters whose names
 * Tekton accepts and does not see as duplicates. Render reads through the
 * same code, so it never emits a run that validate would refuse.
 */
#include <stdlib.h>
#include <string.h>

#include "tekton.h"

/* Tekton's parameter name rule: letters, digits, '_', '-', '.', starting
 * with a letter or '_'. Our UPPER_SNAKE_CASE names always pass. Values are
 * string params. */
static const struct ek_parameter_rule tekton_parameter = {
    .name_extra = "-.",
    .name_rule = "Tekton parameter names start with a letter or '_' and "
                 "contain only letters, digits, '_', '-' and '.'",
    .value_rule = "parameters are passed to Tekton as string params",
    .refuse_nul = 0,
};

static int ascii_casecmp(const char *a, const char *b)
{
  for (;; a++, b++) {
    int ca = (unsigned char)*a, cb = (unsigned char)*b;
    if (ca >= 'A' && ca <= 'Z')
      ca += 'a' - 'A';
    if (cb >= 'A' && cb <= 'Z')
      cb += 'a' - 'A';
    if (ca != cb || ca == 0)
      return ca - cb;
  }
}

static int compare_names_nocase(const void *a, const void *b)
{
  return ascii_casecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Tekton rejects parameter names that differ only in case. `names` is sorted
 * case-insensitively, so such names are neighbours. */
static int check_duplicates(const struct ek_ctx *ctx, const char **names,
                            size_t count)
{
  for (size_t i = 1; i < count; i++) {
    if (ascii_casecmp(names[i - 1], names[i]) != 0)
      continue;
    char *field = ek_parameter_field(names[i]);
    if (!field)
      return ek_nomem(ctx);
    int rc = ek_fail(ctx, WFE_E_INVALID, "DuplicateParameter", field,
                     "spec.parameters has both %.200s and %.200s: Tekton "
                     "rejects parameter names that differ only in case",
                     names[i - 1], names[i]);
    free(field);
    return rc;
  }
  return WFE_OK;
}

/* The kit's parameters hook: each parameter in document order, then
 * duplicates on a case-insensitively sorted copy of the names. */
int tk_check_parameters(const struct ek_ctx *ctx,
                        const struct ek_execution *execution)
{
  size_t count = execution->parameter_count;
  if (count == 0)
    return WFE_OK;
  json_object_object_foreach(execution->parameters, key, value)
  {
    int rc = ek_check_parameter(ctx, &tekton_parameter, key, value);
    if (rc != WFE_OK)
      return rc;
  }
  const char **names = malloc(count * sizeof(*names));
  if (!names)
    return ek_nomem(ctx);
  memcpy(names, execution->parameter_names, count * sizeof(*names));
  qsort(names, count, sizeof(*names), compare_names_nocase);
  int rc = check_duplicates(ctx, names, count);
  free(names);
  return rc;
}

int32_t tk_validate(void *instance, const char *execution_json,
                    size_t execution_len, wfe_error *err)
{
  return ek_validate(instance, execution_json, execution_len,
                     tk_check_parameters, err);
}
