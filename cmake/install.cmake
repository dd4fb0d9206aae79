# Installs headers, the library and a CMake package so that find_package(spate) works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(DIRECTORY include/spate DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS spate EXPORT spateTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT spateTargets NAMESPACE spate:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spate)
configure_package_config_file(cmake/spateConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/spateConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spate)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/spateConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/spateConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/spateConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spate)
