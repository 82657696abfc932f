/*
 * Fuzz target: a watch stream from bytes. The first byte picks a chunk size,
 * so the same stream is also cut at many places; the handler serializes every
 * object it gets, and stops the watch on a marker event, as the informer may.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "kube_client.h"

static int handle(void *ctx, enum wfe_watch_event_type type, json_object *obj)
{
  size_t *events = ctx;
  (*events)++;
  const char *text = json_object_to_json_string(obj);
  return text && strstr(text, "\"stop-here\"") ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  size_t chunk = (size_t)data[0] + 1;
  data++;
  size--;
  size_t events = 0;
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *decoder = wfe_watch_decoder_new(handle, &events);
  if (!decoder)
    return 0;
  for (size_t off = 0; off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    if (wfe_watch_decoder_feed(decoder, (const char *)data + off, n, &err))
      break;
  }
  wfe_error_clear(&err);
  wfe_watch_decoder_free(decoder);
  return 0;
}
