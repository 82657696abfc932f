/* The kit's results and their three renderings: text, TAP 13 and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "status.h"

int check_report_add(struct check_report *r, const char *name, int ok, int skip,
                     const char *message)
{
  struct check_result *grown =
      realloc(r->results, (r->count + 1) * sizeof(*grown));
  if (!grown)
    return WFE_E_NOMEM;
  r->results = grown;
  struct check_result *res = &grown[r->count];
  res->name = strdup(name);
  res->message = message && *message ? strdup(message) : NULL;
  res->ok = ok || skip;
  res->skip = skip;
  if (!res->name || (message && *message && !res->message)) {
    free(res->name);
    free(res->message);
    return WFE_E_NOMEM;
  }
  r->count++;
  return 0;
}

size_t check_report_failed(const struct check_report *r)
{
  size_t failed = 0;
  for (size_t i = 0; i < r->count; i++)
    failed += !r->results[i].ok;
  return failed;
}

/* Messages are one line in text and TAP: a newline an engine put in its
 * error message would otherwise start a line a TAP reader misreads. */
static void print_one_line(const char *text)
{
  for (const char *p = text; *p; p++)
    putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
}

static void print_text(const struct check_report *r)
{
  for (size_t i = 0; i < r->count; i++) {
    const struct check_result *res = &r->results[i];
    printf("%s - %s", res->ok ? "ok" : "not ok", res->name);
    if (res->skip)
      fputs(" # SKIP", stdout);
    if (res->message) {
      fputs(res->skip ? " " : ": ", stdout);
      print_one_line(res->message);
    }
    putchar('\n');
  }
}

static void print_tap(const struct check_report *r)
{
  printf("TAP version 13\n1..%zu\n", r->count);
  for (size_t i = 0; i < r->count; i++) {
    const struct check_result *res = &r->results[i];
    printf("%s %zu - %s", res->ok ? "ok" : "not ok", i + 1, res->name);
    if (res->skip) {
      fputs(" # SKIP ", stdout);
      print_one_line(res->message ? res->message : "");
    }
    putchar('\n');
    if (!res->ok && res->message) {
      fputs("  ---\n  message: ", stdout);
      /* A JSON string is a valid YAML scalar, escapes and all. */
      json_object *msg = json_object_new_string(res->message);
      fputs(msg ? json_object_to_json_string(msg) : "\"\"", stdout);
      json_object_put(msg);
      fputs("\n  ...\n", stdout);
    }
  }
}

/* One result as a JSON object; NULL when memory ran out. */
static json_object *result_json(const struct check_result *res)
{
  const char *keys[] = {"name", "ok", "skip", "message"};
  json_object *values[] = {
      json_object_new_string(res->name),
      json_object_new_boolean(res->ok),
      json_object_new_boolean(res->skip),
      res->message ? json_object_new_string(res->message) : NULL,
  };
  json_object *o = json_object_new_object();
  int failed = !o || !values[0] || !values[1] || !values[2] ||
               (res->message && !values[3]);
  for (size_t i = 0; i < 4; i++) {
    /* json_object_object_add takes the value only when it succeeds */
    if (failed || json_object_object_add(o, keys[i], values[i])) {
      failed = 1;
      json_object_put(values[i]);
    }
  }
  if (failed) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static int print_json(const struct check_report *r)
{
  json_object *array = json_object_new_array();
  int rc = array ? 0 : WFE_E_NOMEM;
  for (size_t i = 0; !rc && i < r->count; i++) {
    json_object *o = result_json(&r->results[i]);
    if (!o || json_object_array_add(array, o)) {
      json_object_put(o);
      rc = WFE_E_NOMEM;
    }
  }
  const char *text =
      rc ? NULL
         : json_object_to_json_string_ext(
               array, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (text)
    puts(text);
  json_object_put(array);
  return text ? 0 : WFE_E_NOMEM;
}

int check_report_print(const struct check_report *r, enum check_format format)
{
  size_t failed = check_report_failed(r);
  int rc = 0;
  if (format == CHECK_JSON)
    rc = print_json(r);
  else if (format == CHECK_TAP)
    print_tap(r);
  else
    print_text(r);
  /* The summary goes where it cannot spoil a machine-read format. */
  FILE *summary = format == CHECK_TEXT ? stdout : stderr;
  fprintf(summary, "%zu passed, %zu failed\n", r->count - failed, failed);
  return fflush(stdout) ? WFE_E_UNAVAILABLE : rc;
}

void check_report_free(struct check_report *r)
{
  for (size_t i = 0; i < r->count; i++) {
    free(r->results[i].name);
    free(r->results[i].message);
  }
  free(r->results);
  r->results = NULL;
  r->count = 0;
}
