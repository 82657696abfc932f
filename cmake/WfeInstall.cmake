# Install the public header and the files a third party needs to build an
# engine out of tree: a pkg-config file and a CMake package, both of which
# name the conformance kit (wfe-engine-check, installed by core/engine/check).
include(CMakePackageConfigHelpers)

install(FILES include/wfe/engine.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/wfe)

configure_file(cmake/wfe-engine.pc.in ${PROJECT_BINARY_DIR}/wfe-engine.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/wfe-engine.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS wfe_engine_abi EXPORT WfeEngineTargets)
install(EXPORT WfeEngineTargets NAMESPACE WfeEngine::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/WfeEngine)
configure_package_config_file(cmake/WfeEngineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/WfeEngineConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/WfeEngine
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/WfeEngineConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/WfeEngineConfig.cmake
  ${PROJECT_BINARY_DIR}/WfeEngineConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/WfeEngine)

# The engine template (engines/template): a project of its own, copied by
# engine authors (docs/writing-an-engine.md); its build/ is theirs.
install(DIRECTORY engines/template/ DESTINATION ${CMAKE_INSTALL_DATADIR}/wfe/engine-template
  USE_SOURCE_PERMISSIONS PATTERN build EXCLUDE PATTERN .gitignore EXCLUDE)
