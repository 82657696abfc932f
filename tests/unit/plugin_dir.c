/* Plugin directories for the loader's tests; see plugin_dir.h. */
#include "plugin_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

int plugin_dir_make(char *root, size_t root_size, char *dir, size_t dir_size,
                    const char *prefix)
{
  const char *tmp = getenv("TMPDIR");
  snprintf(root, root_size, "%s/%s-XXXXXX", tmp && *tmp ? tmp : P_tmpdir,
           prefix);
  if (!mkdtemp(root))
    return -1;
  snprintf(dir, dir_size, "%s/plugins", root);
  return mkdir(dir, 0755) == 0 && chmod(dir, 0755) == 0 ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void plugin_dir_remove(const char *root)
{
  nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *plugin_dir_path(const char *dir, const char *name)
{
  static char paths[4][PATH_MAX * 2];
  static int next;
  char *path = paths[next++ % 4];
  snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
  return path;
}

void plugin_dir_copy(const char *from, const char *to, mode_t mode)
{
  int in = open(from, O_RDONLY | O_CLOEXEC);
  assert_true(in >= 0);
  int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  assert_true(out >= 0);
  char chunk[65536];
  ssize_t n;
  while ((n = read(in, chunk, sizeof(chunk))) > 0)
    assert_int_equal(write(out, chunk, (size_t)n), n);
  assert_int_equal(n, 0);
  assert_int_equal(fchmod(out, mode), 0);
  close(out);
  close(in);
}

const struct wfe_rejection *plugin_dir_rejection(const struct wfe_registry *reg,
                                                 const char *path)
{
  for (size_t i = 0; i < wfe_registry_rejected_count(reg); i++) {
    const struct wfe_rejection *r = wfe_registry_rejected_at(reg, i);
    if (strcmp(r->path, path) == 0)
      return r;
  }
  return NULL;
}

void assert_contains_at(const char *haystack, const char *needle,
                        const char *file, int line)
{
  if (haystack && strstr(haystack, needle))
    return;
  print_error("\"%s\" does not contain \"%s\"\n",
              haystack ? haystack : "(null)", needle);
  _fail(file, line);
}
