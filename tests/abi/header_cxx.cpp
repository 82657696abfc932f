// The public header compiles as C++ and keeps C linkage for the entry.
#include <wfe/engine.h>

extern "C" WFE_PLUGIN_EXPORT const wfe_plugin *wfe_plugin_entry(void);

static const wfe_plugin plugin = {sizeof(wfe_plugin),
                                  WFE_ENGINE_ABI_MAJOR,
                                  WFE_ENGINE_ABI_MINOR,
                                  "x",
                                  "1",
                                  nullptr,
                                  nullptr,
                                  0,
                                  nullptr};

const wfe_plugin *wfe_plugin_entry(void)
{
  return &plugin;
}

int main()
{
  return wfe_plugin_entry()->abi_major == 1 ? 0 : 1;
}
