/*
 * What the loader's tests share: a plugin directory in a fresh temporary
 * directory, fixtures copied into it, its rejections looked up, and an
 * assertion on substrings.
 */
#ifndef WFE_TEST_PLUGIN_DIR_H
#define WFE_TEST_PLUGIN_DIR_H

#include <stddef.h>
#include <sys/types.h>

#include "plugin_loader.h"

/* Makes `root` ($TMPDIR/<prefix>-XXXXXX) and `dir` (root/plugins, 0755).
 * Returns 0 or -1. */
int plugin_dir_make(char *root, size_t root_size, char *dir, size_t dir_size,
                    const char *prefix);

/* Removes `root` and everything below it. */
void plugin_dir_remove(const char *root);

/* DIR/name; the result lives until the fourth next call. */
const char *plugin_dir_path(const char *dir, const char *name);

/* Copies a file (a fixture) to `to` with `mode`; fails the test otherwise. */
void plugin_dir_copy(const char *from, const char *to, mode_t mode);

/* The rejection recorded for the file at `path`, or NULL. */
const struct wfe_rejection *plugin_dir_rejection(const struct wfe_registry *reg,
                                                 const char *path);

#define assert_contains(haystack, needle)                                      \
  assert_contains_at((haystack), (needle), __FILE__, __LINE__)

void assert_contains_at(const char *haystack, const char *needle,
                        const char *file, int line);

#endif
