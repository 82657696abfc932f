/* wfe-controller: placeholder until the CLI lands. */
#include <stdio.h>
int main(void)
{
  puts("wfe-controller " WFE_VERSION);
  return 0;
}
