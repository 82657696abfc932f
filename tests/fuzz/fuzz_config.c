/* Fuzzes the controller's configuration file: YAML through the reader, then
 * every key checked. The input reaches the loader as a file, as in use. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (write(fd, data, size) == (ssize_t)size) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct wfe_config config;
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_config_init(&config) == 0) {
      if (wfe_config_load_file(&config, path, &err) == 0)
        wfe_config_validate(&config, &err);
      wfe_config_free(&config);
    }
    wfe_error_clear(&err);
  }
  close(fd);
  return 0;
}
