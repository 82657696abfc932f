// The public header compiles as C++ and keeps C linkage for the entry.
#include <wfe/engine.h>

extern "C" WFE_PLUGIN_EXPORT const wfe_plugin *wfe_plugin_entry(void);

static const wfe_engine *const engines[] = {nullptr};

// The helper macros expand to valid C++ as well.
WFE_PLUGIN_DEFINE("x", "1", nullptr, nullptr, engines)

int main()
{
  const wfe_plugin *plugin = wfe_plugin_entry();
  return plugin->abi_major == WFE_ENGINE_ABI_MAJOR && plugin->engine_count == 1
             ? 0
             : 1;
}
