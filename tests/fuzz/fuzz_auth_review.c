/*
 * Fuzz target: the API server's answers to the metrics endpoint's reviews.
 * The bytes are read as JSON, then as a TokenReview (whose user becomes a
 * SubjectAccessReview spec, serialized as it would be sent) and as a
 * SubjectAccessReview.
 */
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "delegated_auth.h"
#include "json_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_object *review = wfe_json_parse((const char *)data, size);
  if (!review)
    return 0;
  json_object *spec = NULL;
  if (wfe_auth_read_token_review(review, &spec) == 1)
    wfe_json_text(spec, NULL);
  json_object_put(spec);
  wfe_auth_read_access_review(review);
  json_object_put(review);
  return 0;
}
