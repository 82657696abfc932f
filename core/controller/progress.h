/*
 * The bound on a running execution's status writes. While a run runs, its
 * engine's reading changes (resolving, started, a task failing while others
 * run); the status follows it, and this is what keeps that cheap:
 *
 *   - a change of reason is written once the execution's last status write
 *     is WFE_PROGRESS_REASON_GAP_MS (1 s) old;
 *   - a change of message alone, once that write is `interval_ms` old
 *     (statusProgressInterval, 10 s by default);
 *   - what has to wait is not lost: the caller requeues the execution for
 *     the moment it may be written, and then writes the newest reading.
 *
 * So a running execution costs at most one status write a second, and at
 * most one per interval that is not a change of reason. Terminal writes do
 * not ask. The times live in memory, per execution key, from the monotonic
 * clock the caller passes: a restarted controller may write once early.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef WFE_CONTROLLER_PROGRESS_H
#define WFE_CONTROLLER_PROGRESS_H

#include <stdint.h>

/* The least time between two writes of one execution's status while it
 * runs, a change of reason included. */
#define WFE_PROGRESS_REASON_GAP_MS 1000

/* The Event reason of a change of reason that is not a CamelCase word. */
#define WFE_PROGRESS_EVENT_REASON "WorkflowProgressing"

struct wfe_progress;

/* `interval_ms` (>= WFE_PROGRESS_REASON_GAP_MS) bounds message-only
 * changes. Returns 0 or WFE_E_NOMEM; free with wfe_progress_free. */
int wfe_progress_new(int64_t interval_ms, struct wfe_progress **out);
void wfe_progress_free(struct wfe_progress *progress);

/* How long a change of execution `key` seen at `now_ms` must wait before it
 * is written: 0 for now. `reason_changed` chooses the bound. */
int64_t wfe_progress_delay(struct wfe_progress *progress, const char *key,
                           int reason_changed, int64_t now_ms);

/* Records that `key`'s status was written at `now_ms`. Without memory the
 * record is skipped: the next change is then written at once. */
void wfe_progress_written(struct wfe_progress *progress, const char *key,
                          int64_t now_ms);

/* Forgets `key` (terminal, or deleted). */
void wfe_progress_forget(struct wfe_progress *progress, const char *key);

/* The reason of the Event that tells a change of reason: the engine's own
 * when it is a CamelCase word an Event may carry (an upper-case letter,
 * then letters and digits, at most 128 bytes), else
 * WFE_PROGRESS_EVENT_REASON. Borrowed from `engine_reason` or static. */
const char *wfe_progress_event_reason(const char *engine_reason);

#endif
