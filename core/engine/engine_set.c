/*
 * Live engines; see engine_set.h. Each registry in use is a generation with
 * a count of holders; the newest is current. A generation that is no longer
 * current is freed by whoever drops its last hold. One watcher thread waits
 * on inotify (and a timer), debounces, and reloads.
 */
#include "engine_set.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"
#include "buf.h"
#include "log.h"
#include "status.h"

#define LOGGER "engines"
#define DEFAULT_SETTLE_MS 500
#define DEFAULT_RESCAN_MS 30000

struct generation {
  struct wfe_registry *registry;
  int holds;
  struct generation *next;
};

struct wfe_engine_set {
  struct wfe_engine_set_options options;
  char *watch_dir;
  pthread_mutex_t lock;
  struct generation *current; /* head of the list */
  unsigned long generation;
  pthread_mutex_t reload_lock; /* one load at a time */
  int inotify_fd;
  int wake[2]; /* a pipe that ends the watcher */
  pthread_t watcher;
  int watching;
  int watched;     /* the inotify watch is on the directory */
  char *signature; /* what the last look at the files saw */
};

/* ---- generations ----------------------------------------------------------
 */

const struct wfe_registry *wfe_engine_set_acquire(struct wfe_engine_set *set)
{
  pthread_mutex_lock(&set->lock);
  set->current->holds++;
  const struct wfe_registry *reg = set->current->registry;
  pthread_mutex_unlock(&set->lock);
  return reg;
}

/* Unlinks and returns the generations nobody holds and that are not
 * current. Called locked. */
static struct generation *take_unused(struct wfe_engine_set *set)
{
  struct generation *unused = NULL;
  for (struct generation **p = &set->current->next; *p;) {
    struct generation *g = *p;
    if (g->holds == 0) {
      *p = g->next;
      g->next = unused;
      unused = g;
    } else {
      p = &g->next;
    }
  }
  return unused;
}

static void free_generations(struct generation *g)
{
  while (g) {
    struct generation *next = g->next;
    wfe_registry_free(g->registry);
    free(g);
    g = next;
  }
}

void wfe_engine_set_release(struct wfe_engine_set *set,
                            const struct wfe_registry *reg)
{
  if (!reg)
    return;
  pthread_mutex_lock(&set->lock);
  for (struct generation *g = set->current; g; g = g->next)
    if (g->registry == reg) {
      g->holds--;
      break;
    }
  struct generation *unused = take_unused(set);
  pthread_mutex_unlock(&set->lock);
  free_generations(unused);
}

/* ---- reloading --------------------------------------------------------------
 */

/* "name=realpath:size:mtime:ino;" for every plugin file: what changes when
 * a file is added, removed, replaced or its ConfigMap swapped. */
static char *files_signature(const char *dir)
{
  struct wfe_buf sig = WFE_BUF_INIT;
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    size_t len = strlen(name);
    if (name[0] != '.' && len > 3 && !strcmp(name + len - 3, ".so")) {
      struct wfe_buf path = WFE_BUF_INIT;
      struct stat st;
      char *real = NULL;
      if (!wfe_buf_printf(&path, "%s/%s", dir, name) && !stat(path.data, &st) &&
          (real = realpath(path.data, NULL)))
        wfe_buf_printf(&sig, "%s=%s:%lld:%lld:%llu;", name, real,
                       (long long)st.st_size, (long long)st.st_mtime,
                       (unsigned long long)st.st_ino);
      free(real);
      wfe_buf_free(&path);
    }
    free(names[i]);
  }
  free(names);
  if (n < 0)
    wfe_buf_puts(&sig, "unreadable");
  return wfe_buf_steal(&sig);
}

int wfe_engine_set_reload(struct wfe_engine_set *set, struct wfe_error *err)
{
  pthread_mutex_lock(&set->reload_lock);
  const struct wfe_registry *before = wfe_engine_set_acquire(set);
  struct wfe_registry *now = NULL;
  int rc = set->options.load(set->options.load_ctx, before, &now, err);
  struct generation *g = rc ? NULL : calloc(1, sizeof(*g));
  if (!rc && !g) {
    wfe_registry_free(now);
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  if (!rc) {
    g->registry = now;
    pthread_mutex_lock(&set->lock);
    g->next = set->current;
    set->current = g;
    set->generation++;
    pthread_mutex_unlock(&set->lock);
    if (set->options.changed)
      set->options.changed(set->options.changed_ctx, before, now);
  }
  wfe_engine_set_release(set, before);
  pthread_mutex_unlock(&set->reload_lock);
  return rc;
}

static int add_watch(struct wfe_engine_set *set)
{
  /* ..data swapped by rename shows as IN_MOVED_TO; files as the rest. */
  return inotify_add_watch(set->inotify_fd, set->watch_dir,
                           IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                               IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF |
                               IN_MOVE_SELF);
}

static void reload_logged(struct wfe_engine_set *set, const char *why)
{
  wfe_log_info(LOGGER, NULL, "the plugin directory %s changed (%s): reloading",
               set->watch_dir, why);
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_engine_set_reload(set, &err))
    wfe_log_error(LOGGER, NULL,
                  "reloading %s failed, the engines loaded before stay: %s",
                  set->watch_dir, wfe_error_message(&err));
  wfe_error_clear(&err);
}

static void *watch(void *arg)
{
  struct wfe_engine_set *set = arg;
  int watched = set->watched;
  int64_t due = 0; /* a reload is due at this time (0: none) */
  int64_t next_look = wfe_monotonic_ns() + set->options.rescan_ms * 1000000;
  for (;;) {
    int64_t now = wfe_monotonic_ns();
    int64_t until = due ? due : next_look;
    long wait_ms = until > now ? (long)((until - now) / 1000000) : 0;
    struct pollfd fds[2] = {{set->wake[0], POLLIN, 0},
                            {set->inotify_fd, POLLIN, 0}};
    int n = poll(fds, 2, wait_ms > 60000 ? 60000 : (int)wait_ms);
    if (n < 0 && errno != EINTR)
      break;
    if (n > 0 && fds[0].revents)
      break;
    if (n > 0 && fds[1].revents) {
      char events[4096]
          __attribute__((aligned(__alignof__(struct inotify_event))));
      ssize_t len = read(set->inotify_fd, events, sizeof(events));
      for (ssize_t at = 0; at < len;) {
        const struct inotify_event *e = (const void *)(events + at);
        if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
          watched = 0;
        at += (ssize_t)(sizeof(*e) + e->len);
      }
      due = wfe_monotonic_ns() + set->options.settle_ms * 1000000;
      continue;
    }
    now = wfe_monotonic_ns();
    if (due && now >= due) {
      due = 0;
      free(set->signature);
      set->signature = files_signature(set->watch_dir);
      reload_logged(set, "inotify");
    } else if (now >= next_look) {
      next_look = now + set->options.rescan_ms * 1000000;
      if (!watched)
        watched = add_watch(set) >= 0;
      char *sig = files_signature(set->watch_dir);
      if (sig && set->signature && strcmp(sig, set->signature) != 0) {
        free(set->signature);
        set->signature = sig;
        reload_logged(set, "seen by the periodic look");
      } else {
        free(sig);
      }
    }
  }
  return NULL;
}

/* ---- life cycle ------------------------------------------------------------
 */

int wfe_engine_set_start(const struct wfe_engine_set_options *options,
                         struct wfe_engine_set **out, struct wfe_error *err)
{
  *out = NULL;
  struct wfe_engine_set *set = calloc(1, sizeof(*set));
  struct generation *g = calloc(1, sizeof(*g));
  if (!set || !g) {
    free(set);
    free(g);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  set->options = *options;
  if (set->options.settle_ms <= 0)
    set->options.settle_ms = DEFAULT_SETTLE_MS;
  if (set->options.rescan_ms <= 0)
    set->options.rescan_ms = DEFAULT_RESCAN_MS;
  set->inotify_fd = set->wake[0] = set->wake[1] = -1;
  pthread_mutex_init(&set->lock, NULL);
  pthread_mutex_init(&set->reload_lock, NULL);
  int rc = options->load(options->load_ctx, NULL, &g->registry, err);
  if (rc) {
    free(g);
    wfe_engine_set_free(set);
    return rc;
  }
  set->current = g;
  if (options->watch_dir) {
    set->watch_dir = strdup(options->watch_dir);
    set->signature = set->watch_dir ? files_signature(set->watch_dir) : NULL;
    set->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    /* The watch before start returns: a change right after is seen. */
    set->watched = set->inotify_fd >= 0 && add_watch(set) >= 0;
    if (!set->watch_dir || set->inotify_fd < 0 || pipe2(set->wake, O_CLOEXEC) ||
        pthread_create(&set->watcher, NULL, watch, set)) {
      wfe_log_warn(LOGGER, NULL,
                   "cannot watch %s: the engines load once, a change needs a "
                   "restart",
                   options->watch_dir);
    } else {
      set->watching = 1;
    }
  }
  *out = set;
  return 0;
}

unsigned long wfe_engine_set_generation(struct wfe_engine_set *set)
{
  pthread_mutex_lock(&set->lock);
  unsigned long n = set->generation;
  pthread_mutex_unlock(&set->lock);
  return n;
}

void wfe_engine_set_free(struct wfe_engine_set *set)
{
  if (!set)
    return;
  if (set->watching) {
    ssize_t ignored = write(set->wake[1], "x", 1);
    (void)ignored;
    pthread_join(set->watcher, NULL);
  }
  if (set->inotify_fd >= 0)
    close(set->inotify_fd);
  if (set->wake[0] >= 0)
    close(set->wake[0]);
  if (set->wake[1] >= 0)
    close(set->wake[1]);
  free_generations(set->current);
  pthread_mutex_destroy(&set->lock);
  pthread_mutex_destroy(&set->reload_lock);
  free(set->watch_dir);
  free(set->signature);
  free(set);
}
