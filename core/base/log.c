/* The process-wide logger; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"

static struct {
  enum wfe_log_format format;
  int level;
  FILE *out;
} logger_state = {WFE_LOG_FORMAT_TEXT, WFE_LOG_INFO, NULL};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void wfe_log_setup(enum wfe_log_format format, int level, FILE *out)
{
  logger_state.format = format;
  logger_state.level = level;
  logger_state.out = out;
}

int wfe_log_parse_format(const char *name, enum wfe_log_format *out)
{
  if (strcmp(name, "json") == 0)
    *out = WFE_LOG_FORMAT_JSON;
  else if (strcmp(name, "text") == 0)
    *out = WFE_LOG_FORMAT_TEXT;
  else
    return WFE_E_INVALID;
  return 0;
}

int wfe_log_parse_level(const char *name, int *out)
{
  for (int i = 0; i <= WFE_LOG_DEBUG; i++) {
    if (strcmp(name, level_names[i]) == 0 ||
        (name[0] == '0' + i && name[1] == '\0')) {
      *out = i;
      return 0;
    }
  }
  return WFE_E_INVALID;
}

int wfe_log_enabled(int level)
{
  return level <= logger_state.level;
}

static void format_time(char *out, size_t size)
{
  struct timespec now;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  char date[32];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%03ldZ", date, now.tv_nsec / 1000000L);
}

static int format_json(struct wfe_buf *line, const char *time, int level,
                       const char *logger, const char *object, const char *msg)
{
  json_object *record = json_object_new_object();
  if (!record)
    return WFE_E_NOMEM;
  json_object_object_add(record, "time", json_object_new_string(time));
  json_object_object_add(record, "level",
                         json_object_new_string(level_names[level]));
  if (logger)
    json_object_object_add(record, "logger", json_object_new_string(logger));
  json_object_object_add(record, "msg", json_object_new_string(msg));
  if (object)
    json_object_object_add(record, "object", json_object_new_string(object));
  const char *text = json_object_to_json_string_ext(
      record, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  int rc = text ? wfe_buf_printf(line, "%s\n", text) : WFE_E_NOMEM;
  json_object_put(record);
  return rc;
}

void wfe_log(int level, const char *logger, const char *object, const char *fmt,
             ...)
{
  if (level < WFE_LOG_ERROR)
    level = WFE_LOG_ERROR;
  if (level > WFE_LOG_DEBUG)
    level = WFE_LOG_DEBUG;
  if (!wfe_log_enabled(level))
    return;
  FILE *out = logger_state.out ? logger_state.out : stderr;

  struct wfe_buf msg = WFE_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  int rc = wfe_buf_vprintf(&msg, fmt, ap);
  va_end(ap);

  char time[48];
  format_time(time, sizeof(time));
  struct wfe_buf line = WFE_BUF_INIT;
  const char *text =
      rc ? "(log message lost: out of memory)" : wfe_buf_str(&msg);
  if (logger_state.format == WFE_LOG_FORMAT_JSON)
    rc = format_json(&line, time, level, logger, object, text);
  else
    rc = wfe_buf_printf(&line, "%s %-5s %s%s%s%s%s\n", time, level_names[level],
                        logger ? logger : "", logger ? ": " : "", text,
                        object ? " object=" : "", object ? object : "");
  if (!rc)
    fwrite(line.data, 1, line.len, out);
  else
    fputs("wfe: log record lost: out of memory\n", out);
  fflush(out);
  wfe_buf_free(&line);
  wfe_buf_free(&msg);
}
