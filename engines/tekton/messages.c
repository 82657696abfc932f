/*
 * What an operator reads of a PipelineRun: Tekton's condition message made
 * short and useful for the execution's status, and the full text kept as the
 * interpret document's "detail" (for the Event) where the short one leaves
 * something out. Tekton's resolution failures wrap the cause in the contexts
 * it passed through ("error requesting remote resource: error getting
 * \"bundleresolver\" \"ns/bundles-<hash>\": cannot retrieve the oci image:
 * GET https://...: MANIFEST_UNKNOWN: manifest unknown"); the status keeps the
 * cause, without Tekton's internal request names.
 */
#include <stdlib.h>
#include <string.h>

#include "tekton.h"

/* Words for a run by its reason; a table ends with {NULL, NULL}. */
struct wording {
  const char *reason;
  const char *text;
};

/* States whose Tekton message says nothing an operator can use ("PipelineRun
 * ns/name awaiting remote resource", or none). */
static const struct wording running_messages[] = {
    {"Started", "the Tekton controller started the PipelineRun"},
    {"ResolvingPipelineRef", "resolving the Pipeline from its bundle"},
    {"ResolvingTaskRef", "resolving the Pipeline's Tasks"},
    {NULL, NULL},
};

/* What a failed resolution is called, by the run's reason. */
static const struct wording resolution_leads[] = {
    {"CouldntGetPipeline", "cannot fetch the Pipeline from its bundle"},
    {"CouldntGetTask", "cannot fetch a Task of the Pipeline"},
    {NULL, NULL},
};

/* The words for `reason` in `table`, or NULL. */
static const char *words_for(const struct wording *table, const char *reason)
{
  for (; table->reason; table++)
    if (strcmp(reason, table->reason) == 0)
      return table->text;
  return NULL;
}

/* Tekton's marker of a remote resolution in a message. */
#define TK_REMOTE_RESOLUTION "error requesting remote resource"

/* Contexts Go wraps an error in ("context: cause"): they say where it
 * failed, never why. */
static int is_context(const char *segment, size_t len)
{
  static const char *const starts[] = {
      "error ", "Error ", "failed to ", "cannot retrieve ", "GET ", "HEAD "};
  for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
    size_t n = strlen(starts[i]);
    if (len > n && strncmp(segment, starts[i], n) == 0)
      return 1;
  }
  return 0;
}

/* The cause in `message`: from the remote resolution on (what comes before
 * it is Tekton's own framing), past the leading contexts, up to the first
 * "; " (what Go joins after it). Sets *len; the whole message when nothing
 * is left. */
static const char *cause_of(const char *message, size_t *len)
{
  const char *rest = strstr(message, TK_REMOTE_RESOLUTION);
  if (!rest)
    rest = message;
  const char *sep;
  while ((sep = strstr(rest, ": ")) && is_context(rest, (size_t)(sep - rest)))
    rest = sep + 2;
  const char *end = strstr(rest, "; ");
  *len = end ? (size_t)(end - rest) : strlen(rest);
  if (*len == 0) {
    rest = message;
    *len = strlen(message);
  }
  return rest;
}

/* `a`, `sep` and the first `b_len` bytes of `b`, malloc'd. */
static char *join(const char *a, const char *sep, const char *b, size_t b_len)
{
  size_t a_len = strlen(a), sep_len = strlen(sep);
  char *text = malloc(a_len + sep_len + b_len + 1);
  if (!text)
    return NULL;
  memcpy(text, a, a_len);
  memcpy(text + a_len, sep, sep_len);
  memcpy(text + a_len + sep_len, b, b_len);
  text[a_len + sep_len + b_len] = '\0';
  return text;
}

static int copy(const char *text, char **out)
{
  *out = NULL;
  return text && *text && !(*out = join("", "", text, strlen(text))) ? -1 : 0;
}

/* `lead`, then `sep` and `message` when there is one. */
static int lead_with(const char *lead, const char *sep, const char *message,
                     char **out)
{
  if (!message || !*message)
    return copy(lead, out);
  *out = join(lead, sep, message, strlen(message));
  return *out ? 0 : -1;
}

static int running_text(const char *reason, const char *message,
                        struct tk_text *out)
{
  const char *words = words_for(running_messages, reason);
  if (words)
    return copy(words, &out->message);
  if (strcmp(reason, "PipelineRunStopping") == 0)
    return lead_with("stopping: no new Tasks start", "; ", message,
                     &out->message);
  return copy(message, &out->message);
}

/* A cancelled run says so; Tekton's own message mostly does already
 * ("PipelineRun \"x\" was cancelled"). */
static int cancelled_text(const char *message, struct tk_text *out)
{
  if (message &&
      (strstr(message, "was cancelled") || strstr(message, "was stopped")))
    return copy(message, &out->message);
  return lead_with("the PipelineRun was cancelled", ": ", message,
                   &out->message);
}

/* A failed resolution: the lead and the cause for the status, Tekton's whole
 * text as the detail. Returns 1 when `message` is no such failure. */
static int resolution_text(const char *reason, const char *message,
                           struct tk_text *out)
{
  const char *lead = words_for(resolution_leads, reason);
  if (!lead && strstr(message, TK_REMOTE_RESOLUTION))
    lead = "cannot fetch a remote resource";
  if (!lead)
    return 1;
  size_t len = 0;
  const char *cause = cause_of(message, &len);
  out->message = join(lead, ": ", cause, len);
  if (!out->message || (len < strlen(message) && copy(message, &out->detail)))
    return -1;
  return 0;
}

int tk_text_for(const char *status, const char *reason, const char *message,
                int cancelled, struct tk_text *out)
{
  out->message = out->detail = NULL;
  int rc;
  if (strcmp(status, "Unknown") == 0)
    rc = running_text(reason, message, out);
  else if (cancelled)
    rc = cancelled_text(message, out);
  else {
    rc = 1;
    if (strcmp(status, "False") == 0 && message && *message)
      rc = resolution_text(reason, message, out);
    if (rc == 1)
      rc = copy(message, &out->message);
  }
  if (rc)
    tk_text_free(out);
  return rc;
}

void tk_text_free(struct tk_text *text)
{
  free(text->message);
  free(text->detail);
  text->message = text->detail = NULL;
}
