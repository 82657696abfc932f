/* The public header compiles on its own as strict ISO C. */
#include <wfe/engine.h>

int main(void)
{
  wfe_plugin plugin = {sizeof(plugin),
                       WFE_ENGINE_ABI_MAJOR,
                       WFE_ENGINE_ABI_MINOR,
                       "x",
                       "1",
                       0,
                       0,
                       0,
                       0};
  return WFE_HAS_MEMBER(&plugin, wfe_plugin, engines) ? 0 : 1;
}
