/* The bound on progress writes; see progress.h. */
#include "progress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "status.h"

struct wfe_progress {
  int64_t interval_ms;
  pthread_mutex_t lock;
  json_object *written; /* key -> monotonic ms of its last status write */
};

int wfe_progress_new(int64_t interval_ms, struct wfe_progress **out)
{
  *out = NULL;
  struct wfe_progress *progress = calloc(1, sizeof(*progress));
  if (!progress || !(progress->written = json_object_new_object())) {
    free(progress);
    return WFE_E_NOMEM;
  }
  progress->interval_ms = interval_ms < WFE_PROGRESS_REASON_GAP_MS
                              ? WFE_PROGRESS_REASON_GAP_MS
                              : interval_ms;
  pthread_mutex_init(&progress->lock, NULL);
  *out = progress;
  return 0;
}

void wfe_progress_free(struct wfe_progress *progress)
{
  if (!progress)
    return;
  json_object_put(progress->written);
  pthread_mutex_destroy(&progress->lock);
  free(progress);
}

int64_t wfe_progress_delay(struct wfe_progress *progress, const char *key,
                           int reason_changed, int64_t now_ms)
{
  int64_t bound =
      reason_changed ? WFE_PROGRESS_REASON_GAP_MS : progress->interval_ms;
  int64_t delay = 0;
  pthread_mutex_lock(&progress->lock);
  json_object *last = NULL;
  if (json_object_object_get_ex(progress->written, key, &last)) {
    int64_t since = now_ms - json_object_get_int64(last);
    delay = since < bound ? bound - (since < 0 ? 0 : since) : 0;
  }
  pthread_mutex_unlock(&progress->lock);
  return delay;
}

void wfe_progress_written(struct wfe_progress *progress, const char *key,
                          int64_t now_ms)
{
  json_object *when = json_object_new_int64(now_ms);
  if (!when)
    return;
  pthread_mutex_lock(&progress->lock);
  if (json_object_object_add(progress->written, key, when))
    json_object_put(when); /* not recorded: the next change goes at once */
  pthread_mutex_unlock(&progress->lock);
}

void wfe_progress_forget(struct wfe_progress *progress, const char *key)
{
  pthread_mutex_lock(&progress->lock);
  json_object_object_del(progress->written, key);
  pthread_mutex_unlock(&progress->lock);
}

const char *wfe_progress_event_reason(const char *engine_reason)
{
  size_t len = engine_reason ? strlen(engine_reason) : 0;
  int camel = len > 0 && len <= 128 && engine_reason[0] >= 'A' &&
              engine_reason[0] <= 'Z';
  for (size_t i = 1; camel && i < len; i++) {
    char c = engine_reason[i];
    camel = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9');
  }
  return camel ? engine_reason : WFE_PROGRESS_EVENT_REASON;
}
