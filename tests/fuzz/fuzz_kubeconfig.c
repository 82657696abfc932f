/*
 * Fuzz target: kubeconfig text from bytes, resolved with its current context
 * and with a fixed one, plus the base64 decoder on the raw bytes. Parsing
 * never runs exec plugins or reads the files a kubeconfig names.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const contexts[] = {NULL, "x"};
  for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
    struct wfe_kube_config *config = NULL, *copy = NULL;
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_kube_config_parse((const char *)data, size, "fuzz", "/fuzz",
                              contexts[i], &config, &err) == 0 &&
        wfe_kube_config_copy(config, &copy) == 0)
      wfe_kube_config_free(copy);
    wfe_kube_config_free(config);
    wfe_error_clear(&err);
  }
  char *decoded = NULL;
  size_t decoded_len = 0;
  if (wfe_base64_decode((const char *)data, size, &decoded, &decoded_len) == 0)
    free(decoded);
  return 0;
}
