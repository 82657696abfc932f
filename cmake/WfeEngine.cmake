# wfe_add_engine(NAME SOURCES...): an in-tree engine, built exactly as a third
# party builds theirs: a MODULE against the public header only, exporting
# nothing but the entry function, with every symbol resolved at link time.
function(wfe_add_engine name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE wfe_engine_abi)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${WFE_PLUGIN_OUTPUT_DIR}
    C_VISIBILITY_PRESET hidden)
  if(NOT WFE_FUZZ) # clang's sanitizer runtimes live in the executable
    target_link_options(${name} PRIVATE -Wl,-z,defs)
  endif()
  target_link_options(${name} PRIVATE -Wl,-z,now -Wl,-z,relro)
  install(TARGETS ${name} LIBRARY DESTINATION ${WFE_PLUGIN_SUBDIR})
endfunction()
