# Compiler flags shared by every target of the project.
add_compile_options(-Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes
  -Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter
  -fstack-protector-strong)
if(NOT WFE_SANITIZE)
  add_compile_options(-D_FORTIFY_SOURCE=2)
endif()
if(CMAKE_BUILD_TYPE STREQUAL "Debug" OR NOT CMAKE_BUILD_TYPE)
  # _FORTIFY_SOURCE needs optimisation; keep -O1 in debug builds.
  add_compile_options(-O1 -g)
endif()
if(WFE_WERROR)
  add_compile_options(-Werror)
endif()
if(WFE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(WFE_FUZZ)
  # Coverage for libFuzzer in everything the fuzz targets reach; the targets
  # themselves link the fuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
