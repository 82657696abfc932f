/*
 * Every type of the engine ABI, reachable from one exported function, so
 * that libabigail (abidw, abidiff) sees them all in the shared object this
 * file is built into. tests/abi/abi-guard builds it from a header and
 * compares the result with the baselines of the released ABI versions.
 */
#include <wfe/engine.h>

WFE_PLUGIN_EXPORT void wfe_abi_probe(wfe_plugin *plugin, wfe_host *host,
                                     wfe_engine *engine, wfe_run_type *run_type,
                                     wfe_buf *buf, wfe_error *error,
                                     wfe_plugin_entry_fn entry);

void wfe_abi_probe(wfe_plugin *plugin, wfe_host *host, wfe_engine *engine,
                   wfe_run_type *run_type, wfe_buf *buf, wfe_error *error,
                   wfe_plugin_entry_fn entry)
{
  (void)plugin;
  (void)host;
  (void)engine;
  (void)run_type;
  (void)buf;
  (void)error;
  (void)entry;
}
