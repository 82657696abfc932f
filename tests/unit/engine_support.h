/*
 * What the engine tests share: loading a built engine module the way the
 * loader does (dlopen, the entry symbol, one engine), reading test data, and
 * comparing JSON documents with both printed on a mismatch. For cmocka
 * tests; every helper fails the running test on error.
 */
#ifndef WFE_TEST_ENGINE_SUPPORT_H
#define WFE_TEST_ENGINE_SUPPORT_H

#include <wfe/engine.h>

/* Opens the module at `path` and returns its only engine; *out_module is
 * the handle to dlclose. */
const wfe_engine *test_open_engine(const char *path, void **out_module);

/* The whole file at `path`, NUL-terminated; free it. */
char *test_read_file(const char *path);

/* The file WFE_TEST_DATA_DIR/<subdir>/<relative>, as test_read_file. */
char *test_read_data(const char *subdir, const char *relative);

/* Fails, printing both documents, when they differ as JSON. `label` names
 * the case. */
void test_assert_json_equal(const char *actual, const char *expected,
                            const char *label);

#endif
