/*
 * Leader election; see leader.h. Two threads: the elector reads and writes
 * the Lease every retry period; the watchdog sleeps until the renew deadline
 * and ends leadership when no renewal moved it. The deadline lives in one
 * atomic, so wfe_leader_is_leader() needs no lock and turns false on time
 * even while the elector is stuck in a request to a paused API server.
 */
#include "leader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "backoff.h"
#include "json_util.h"
#include "kube_client.h"
#include "metrics.h"

static const struct wfe_resource lease_resource = {"coordination.k8s.io/v1",
                                                   "leases", 1};

/* The outcome of one try. */
enum try_result {
  TRY_FAILED,   /* no answer or a conflict: try again */
  TRY_HELD,     /* another holder with a valid lease */
  TRY_ACQUIRED, /* acquired or renewed */
};

struct wfe_leader {
  struct wfe_kube_client *client;
  char *namespace_name;
  char *name;
  char *identity;
  long lease_ms;
  long renew_ms;
  long retry_ms;
  struct wfe_leader_callbacks callbacks;
  struct wfe_metric *status_gauge;

  /* 0 when not leading, else the monotonic ms at which leading ends unless
   * a renewal moves it. The only state is_leader reads. */
  _Atomic int64_t deadline_ms;

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t wake;  /* on CLOCK_MONOTONIC */
  pthread_t elector_thread;
  pthread_t watchdog_thread;
  int started;
  int stopping;
  int leading;  /* we hold the lease as far as we know */
  int finished; /* leading ended (lost or released); never lead again */
  uint64_t rand_state;
  /* Only the elector thread touches these while it runs; release reads
   * them after joining it. */
  json_object *observed; /* the Lease as last read or written; owned */
  char *observed_spec;   /* its spec as text, to see changes */
  int64_t observed_ms;   /* when observed_spec last changed */
};

/* ------------------------------------------------------------------------
 * Time */

static const char *const lease_metric_labels[] = {"name"};

static int is_leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int wfe_microtime_format(int64_t unix_us, char *out, size_t size)
{
  if (!out || size < WFE_MICROTIME_LEN + 1)
    return WFE_E_INVALID;
  int64_t secs = unix_us / 1000000;
  int64_t micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  time_t t = (time_t)secs;
  struct tm tm;
  if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
    return WFE_E_INVALID;
  snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)micros);
  return 0;
}

int64_t wfe_microtime_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Reads exactly `n` digits at *p. */
static int read_digits(const char **p, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int expect_char(const char **p, const char *allowed)
{
  if (!**p || !strchr(allowed, **p))
    return -1;
  (*p)++;
  return 0;
}

int wfe_microtime_parse(const char *text, int64_t *out)
{
  if (!text || !out)
    return WFE_E_INVALID;
  const char *p = text;
  int year, month, day, hour, minute, second;
  if (read_digits(&p, 4, &year) || expect_char(&p, "-") ||
      read_digits(&p, 2, &month) || expect_char(&p, "-") ||
      read_digits(&p, 2, &day) || expect_char(&p, "Tt") ||
      read_digits(&p, 2, &hour) || expect_char(&p, ":") ||
      read_digits(&p, 2, &minute) || expect_char(&p, ":") ||
      read_digits(&p, 2, &second))
    return WFE_E_INVALID;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 59)
    return WFE_E_INVALID;
  int64_t micros = 0;
  if (*p == '.') {
    p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
      if (digits < 6)
        micros = micros * 10 + (*p - '0');
      digits++;
      p++;
    }
    if (digits == 0 || digits > 9)
      return WFE_E_INVALID;
    for (int i = digits; i < 6; i++)
      micros *= 10;
  }
  int64_t offset_s = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1;
    int oh, om;
    p++;
    if (read_digits(&p, 2, &oh) || expect_char(&p, ":") ||
        read_digits(&p, 2, &om) || oh > 23 || om > 59)
      return WFE_E_INVALID;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return WFE_E_INVALID;
  }
  if (*p)
    return WFE_E_INVALID;
  int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 +
                 minute * 60 + second - offset_s;
  *out = secs * 1000000 + micros;
  return 0;
}

/* ------------------------------------------------------------------------
 * The decision */

enum wfe_lease_verdict wfe_lease_decide(const char *holder,
                                        const char *identity,
                                        long lease_duration_seconds,
                                        int64_t observed_ms, int64_t now_ms)
{
  if (!holder || !*holder)
    return WFE_LEASE_FREE;
  if (identity && strcmp(holder, identity) == 0)
    return WFE_LEASE_OURS;
  if (lease_duration_seconds < 0)
    lease_duration_seconds = 0;
  if (now_ms < observed_ms + (int64_t)lease_duration_seconds * 1000)
    return WFE_LEASE_HELD;
  return WFE_LEASE_EXPIRED;
}

/* ------------------------------------------------------------------------
 * Construction */

static uint64_t next_random(struct wfe_leader *leader)
{
  /* xorshift64*: jitter only, no secrecy needed. */
  uint64_t x = leader->rand_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  leader->rand_state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static int default_identity(char **out)
{
  char host[256];
  if (gethostname(host, sizeof(host)) != 0)
    snprintf(host, sizeof(host), "unknown");
  host[sizeof(host) - 1] = '\0';
  unsigned char random_bytes[8];
  if (getrandom(random_bytes, sizeof(random_bytes), 0) !=
      (ssize_t)sizeof(random_bytes)) {
    uint64_t fallback = (uint64_t)wfe_monotonic_ns() ^ (uint64_t)getpid();
    memcpy(random_bytes, &fallback, sizeof(random_bytes));
  }
  size_t len = strlen(host) + 1 + 2 * sizeof(random_bytes) + 1;
  char *id = malloc(len);
  if (!id)
    return WFE_E_NOMEM;
  int n = snprintf(id, len, "%s_", host);
  for (size_t i = 0; i < sizeof(random_bytes); i++)
    n += snprintf(id + n, len - (size_t)n, "%02x", random_bytes[i]);
  *out = id;
  return 0;
}

int wfe_leader_new(struct wfe_kube_client *client,
                   const struct wfe_leader_options *options,
                   const struct wfe_leader_callbacks *callbacks,
                   struct wfe_leader **out, struct wfe_error *err)
{
  if (!client || !options || !out || !options->namespace_name ||
      !*options->namespace_name || !options->name || !*options->name)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "leader election needs a client, and the "
                         "namespace and name of its Lease");
  long lease_ms =
      options->lease_duration_ms ? options->lease_duration_ms : 15000;
  long renew_ms =
      options->renew_deadline_ms ? options->renew_deadline_ms : 10000;
  long retry_ms = options->retry_period_ms ? options->retry_period_ms : 2000;
  /* client-go's validation: the holder must give up (renew deadline)
   * before anyone may take over (lease duration), and get several retries
   * in between. Leases count whole seconds. */
  if (lease_ms < 1000 || lease_ms % 1000 || renew_ms >= lease_ms ||
      retry_ms <= 0 || (double)renew_ms <= 1.2 * (double)retry_ms)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument",
                         "leaderElection",
                         "need whole-second lease duration (%ld ms) > renew "
                         "deadline (%ld ms) > 1.2 x retry period (%ld ms)",
                         lease_ms, renew_ms, retry_ms);

  struct wfe_leader *leader = calloc(1, sizeof(*leader));
  if (!leader)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  leader->client = client;
  leader->lease_ms = lease_ms;
  leader->renew_ms = renew_ms;
  leader->retry_ms = retry_ms;
  if (callbacks)
    leader->callbacks = *callbacks;
  atomic_init(&leader->deadline_ms, 0);
  leader->namespace_name = strdup(options->namespace_name);
  leader->name = strdup(options->name);
  int rc = 0;
  if (options->identity)
    leader->identity = strdup(options->identity);
  else
    rc = default_identity(&leader->identity);
  if (rc || !leader->namespace_name || !leader->name || !leader->identity) {
    wfe_leader_free(leader);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  leader->rand_state = (uint64_t)wfe_monotonic_ns() | 1;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&leader->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&leader->lock, NULL);
  if (options->metrics) {
    leader->status_gauge =
        wfe_metrics_gauge(options->metrics, "leader_election_master_status",
                          "1 while this process holds the named lease, else 0.",
                          lease_metric_labels, 1);
    const char *labels[] = {leader->name};
    wfe_metric_set(leader->status_gauge, labels, 0);
  }
  *out = leader;
  return 0;
}

int wfe_leader_is_leader(const struct wfe_leader *leader)
{
  if (!leader)
    return 0;
  int64_t deadline = atomic_load(&((struct wfe_leader *)leader)->deadline_ms);
  return deadline > 0 && wfe_monotonic_ms() < deadline;
}

int wfe_leader_gate(void *leader)
{
  return wfe_leader_is_leader(leader);
}

const char *wfe_leader_identity(const struct wfe_leader *leader)
{
  return leader ? leader->identity : NULL;
}

/* ------------------------------------------------------------------------
 * Reading and writing the Lease */

static void set_status_metric(struct wfe_leader *leader, int value)
{
  const char *labels[] = {leader->name};
  wfe_metric_set(leader->status_gauge, labels, value);
}

static void observe(struct wfe_leader *leader, json_object *lease)
{
  json_object *spec = json_object_object_get(lease, "spec");
  const char *text =
      spec ? json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN) : "";
  if (!leader->observed_spec || strcmp(leader->observed_spec, text) != 0) {
    free(leader->observed_spec);
    leader->observed_spec = strdup(text);
    leader->observed_ms = wfe_monotonic_ms();
  }
  json_object_put(leader->observed);
  leader->observed = json_object_get(lease);
}

/* A Lease spec as client-go writes it. */
static json_object *lease_spec(const char *holder, long duration_s,
                               const char *acquire_time, const char *renew_time,
                               int64_t transitions)
{
  json_object *spec = json_object_new_object();
  if (!spec)
    return NULL;
  json_object_object_add(spec, "holderIdentity",
                         json_object_new_string(holder));
  json_object_object_add(spec, "leaseDurationSeconds",
                         json_object_new_int64(duration_s));
  if (acquire_time)
    json_object_object_add(spec, "acquireTime",
                           json_object_new_string(acquire_time));
  json_object_object_add(spec, "renewTime", json_object_new_string(renew_time));
  json_object_object_add(spec, "leaseTransitions",
                         json_object_new_int64(transitions));
  return spec;
}

static enum try_result create_lease(struct wfe_leader *leader, const char *now)
{
  json_object *lease = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object_object_add(lease, "apiVersion",
                         json_object_new_string("coordination.k8s.io/v1"));
  json_object_object_add(lease, "kind", json_object_new_string("Lease"));
  json_object_object_add(meta, "name", json_object_new_string(leader->name));
  json_object_object_add(meta, "namespace",
                         json_object_new_string(leader->namespace_name));
  json_object_object_add(lease, "metadata", meta);
  json_object_object_add(
      lease, "spec",
      lease_spec(leader->identity, leader->lease_ms / 1000, now, now, 0));
  json_object *created = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_create(leader->client, &lease_resource,
                           leader->namespace_name, lease, &created, &err);
  json_object_put(lease);
  wfe_error_clear(&err);
  if (rc)
    return TRY_FAILED; /* AlreadyExists: someone was faster; read it next */
  observe(leader, created);
  json_object_put(created);
  return TRY_ACQUIRED;
}

/* client-go's tryAcquireOrRenew. */
static enum try_result try_acquire_or_renew(struct wfe_leader *leader)
{
  char now[WFE_MICROTIME_LEN + 1];
  wfe_microtime_format(wfe_microtime_now(), now, sizeof(now));
  json_object *lease = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_get(leader->client, &lease_resource, leader->namespace_name,
                        leader->name, &lease, &err);
  wfe_error_clear(&err);
  if (rc == WFE_E_NOT_FOUND)
    return create_lease(leader, now);
  if (rc)
    return TRY_FAILED;

  observe(leader, lease);
  json_object *spec = json_object_object_get(lease, "spec");
  const char *holder = wfe_json_get_string(lease, "spec.holderIdentity");
  json_object *duration = json_object_object_get(spec, "leaseDurationSeconds");
  json_object *transitions = json_object_object_get(spec, "leaseTransitions");
  enum wfe_lease_verdict verdict = wfe_lease_decide(
      holder, leader->identity, duration ? json_object_get_int64(duration) : 0,
      leader->observed_ms, wfe_monotonic_ms());
  if (verdict == WFE_LEASE_HELD) {
    json_object_put(lease);
    return TRY_HELD;
  }
  int64_t transition_count =
      transitions ? json_object_get_int64(transitions) : 0;
  const char *acquire_time = now;
  if (verdict == WFE_LEASE_OURS)
    acquire_time = wfe_json_get_string(lease, "spec.acquireTime");
  else
    transition_count++;
  json_object *new_spec =
      lease_spec(leader->identity, leader->lease_ms / 1000,
                 acquire_time ? acquire_time : now, now, transition_count);
  /* The update carries the resourceVersion we read: if anyone wrote the
   * Lease in between, it fails with 409 and nobody got it twice. */
  json_object_object_add(lease, "spec", new_spec);
  json_object *updated = NULL;
  rc = wfe_kube_update(leader->client, &lease_resource, leader->namespace_name,
                       leader->name, NULL, lease, &updated, &err);
  json_object_put(lease);
  wfe_error_clear(&err);
  if (rc)
    return TRY_FAILED;
  observe(leader, updated);
  json_object_put(updated);
  return TRY_ACQUIRED;
}

/* ------------------------------------------------------------------------
 * Threads */

/* Ends leadership after a loss. Called with the lock held; returns with it
 * released. */
static void lose_locked(struct wfe_leader *leader)
{
  int was_leading = leader->leading;
  leader->leading = 0;
  leader->finished = 1;
  atomic_store(&leader->deadline_ms, 0);
  pthread_cond_broadcast(&leader->wake);
  pthread_mutex_unlock(&leader->lock);
  if (!was_leading)
    return;
  set_status_metric(leader, 0);
  if (leader->callbacks.on_stopped_leading)
    leader->callbacks.on_stopped_leading(leader->callbacks.ctx);
  if (leader->callbacks.on_lost) {
    leader->callbacks.on_lost(leader->callbacks.ctx);
    return;
  }
  /* No fencing exists: the only safe leader that cannot renew is a dead
   * one. _exit, not exit: atexit handlers would run while other threads
   * still write. */
  _exit(WFE_LEADER_EXIT_LOST);
}

static void wait_locked(struct wfe_leader *leader, int64_t until_ms)
{
  struct timespec ts = {(time_t)(until_ms / 1000),
                        (long)(until_ms % 1000) * 1000000L};
  pthread_cond_timedwait(&leader->wake, &leader->lock, &ts);
}

static void *watchdog_main(void *arg)
{
  struct wfe_leader *leader = arg;
  pthread_mutex_lock(&leader->lock);
  while (!leader->stopping && !leader->finished) {
    if (!leader->leading) {
      pthread_cond_wait(&leader->wake, &leader->lock);
      continue;
    }
    int64_t deadline = atomic_load(&leader->deadline_ms);
    if (wfe_monotonic_ms() >= deadline) {
      lose_locked(leader);
      return NULL;
    }
    wait_locked(leader, deadline);
  }
  pthread_mutex_unlock(&leader->lock);
  return NULL;
}

static void *elector_main(void *arg)
{
  struct wfe_leader *leader = arg;
  pthread_mutex_lock(&leader->lock);
  while (!leader->stopping && !leader->finished) {
    pthread_mutex_unlock(&leader->lock);
    /* The renewal counts from when it was sent: the Lease says renewTime
     * "now", and standbys measure the lease from when they see it. */
    int64_t sent_ms = wfe_monotonic_ms();
    enum try_result result = try_acquire_or_renew(leader);
    pthread_mutex_lock(&leader->lock);
    if (leader->stopping || leader->finished)
      break;
    /* An answer that came after the deadline it would set is no renewal:
     * the watchdog ends leadership, and a fresh start would be a lie. */
    if (result == TRY_ACQUIRED &&
        wfe_monotonic_ms() >= sent_ms + leader->renew_ms)
      result = TRY_FAILED;
    int started = 0;
    if (result == TRY_ACQUIRED) {
      started = !leader->leading;
      leader->leading = 1;
      atomic_store(&leader->deadline_ms, sent_ms + leader->renew_ms);
      pthread_cond_broadcast(&leader->wake);
    } else if (result == TRY_HELD && leader->leading) {
      /* Someone else holds a valid lease: we lost it, whatever our
       * deadline says. Stop now rather than at the deadline. */
      lose_locked(leader);
      return NULL;
    }
    int64_t wait_ms = leader->retry_ms;
    if (!leader->leading) /* spread the candidates' retries out */
      wait_ms +=
          (int64_t)(next_random(leader) % (uint64_t)(leader->retry_ms / 5 + 1));
    if (started) {
      pthread_mutex_unlock(&leader->lock);
      set_status_metric(leader, 1);
      if (leader->callbacks.on_started_leading)
        leader->callbacks.on_started_leading(leader->callbacks.ctx);
      pthread_mutex_lock(&leader->lock);
    }
    int64_t until = sent_ms + wait_ms;
    while (!leader->stopping && !leader->finished && wfe_monotonic_ms() < until)
      wait_locked(leader, until);
  }
  pthread_mutex_unlock(&leader->lock);
  return NULL;
}

int wfe_leader_start(struct wfe_leader *leader, struct wfe_error *err)
{
  if (!leader || leader->started)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "the elector is missing or already started");
  if (pthread_create(&leader->watchdog_thread, NULL, watchdog_main, leader))
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ThreadFailed", NULL,
                         "cannot start the leader watchdog thread");
  if (pthread_create(&leader->elector_thread, NULL, elector_main, leader)) {
    pthread_mutex_lock(&leader->lock);
    leader->stopping = 1;
    pthread_cond_broadcast(&leader->wake);
    pthread_mutex_unlock(&leader->lock);
    pthread_join(leader->watchdog_thread, NULL);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ThreadFailed", NULL,
                         "cannot start the leader election thread");
  }
  leader->started = 1;
  return 0;
}

/* Stops both threads; returns whether we were leading until now. */
static int stop_threads(struct wfe_leader *leader)
{
  pthread_mutex_lock(&leader->lock);
  leader->stopping = 1;
  int was_leading = leader->leading && !leader->finished;
  leader->leading = 0;
  leader->finished = 1;
  atomic_store(&leader->deadline_ms, 0); /* writes stop here */
  pthread_cond_broadcast(&leader->wake);
  pthread_mutex_unlock(&leader->lock);
  if (leader->started) {
    pthread_join(leader->elector_thread, NULL);
    pthread_join(leader->watchdog_thread, NULL);
    leader->started = 0;
  }
  return was_leading;
}

int wfe_leader_release(struct wfe_leader *leader, struct wfe_error *err)
{
  if (!leader)
    return 0;
  int was_leading = stop_threads(leader);
  if (!was_leading)
    return 0;
  set_status_metric(leader, 0);
  int rc = 0;
  const char *holder =
      wfe_json_get_string(leader->observed, "spec.holderIdentity");
  if (leader->observed && holder && strcmp(holder, leader->identity) == 0) {
    /* client-go's ReleaseOnCancel: an empty holder with a one-second
     * lease, sent with the resourceVersion we last wrote, so a standby
     * takes over at its next retry and a newer holder is never undone. */
    char now[WFE_MICROTIME_LEN + 1];
    wfe_microtime_format(wfe_microtime_now(), now, sizeof(now));
    json_object *transitions =
        wfe_json_get(leader->observed, "spec.leaseTransitions");
    json_object *lease = json_object_get(leader->observed);
    json_object_object_add(
        lease, "spec",
        lease_spec("", 1, now, now,
                   transitions ? json_object_get_int64(transitions) : 0));
    json_object *updated = NULL;
    rc =
        wfe_kube_update(leader->client, &lease_resource, leader->namespace_name,
                        leader->name, NULL, lease, &updated, err);
    json_object_put(lease);
    json_object_put(updated);
    if (rc)
      wfe_error_prefix(err, "releasing lease %s/%s", leader->namespace_name,
                       leader->name);
  }
  if (leader->callbacks.on_stopped_leading)
    leader->callbacks.on_stopped_leading(leader->callbacks.ctx);
  return rc;
}

void wfe_leader_free(struct wfe_leader *leader)
{
  if (!leader)
    return;
  if (leader->namespace_name && leader->name && leader->identity) {
    /* Fully constructed: the lock and condition exist. */
    stop_threads(leader);
    pthread_mutex_destroy(&leader->lock);
    pthread_cond_destroy(&leader->wake);
  }
  json_object_put(leader->observed);
  free(leader->observed_spec);
  free(leader->namespace_name);
  free(leader->name);
  free(leader->identity);
  free(leader);
}
