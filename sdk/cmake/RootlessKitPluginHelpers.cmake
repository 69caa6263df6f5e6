# rootlesskit_add_plugin(<name> KIND network|port SOURCES <files>...)
#
# Builds rkp-<kind>-<name>.so as a MODULE against RootlessKit::PluginSDK: symbols hidden except
# rkp_plugin_entry, no undefined symbols allowed (a plugin links nothing from the host; every
# service comes through rkp_host), output in the plugin directory, installed into the plugin dir.
function(rootlesskit_add_plugin name)
  cmake_parse_arguments(ARG "" "KIND" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_KIND MATCHES "^(network|port)$")
    message(FATAL_ERROR "rootlesskit_add_plugin(${name}): KIND must be network or port")
  endif()
  if(ARG_KIND STREQUAL "network")
    set(kind_short net)
  else()
    set(kind_short port)
  endif()
  set(target rkp-${kind_short}-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED RK_PLUGIN_BUILD_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${RK_PLUGIN_BUILD_DIR}")
  endif()
  target_link_libraries(${target} PRIVATE RootlessKit::PluginSDK ${ARG_LIBRARIES})
  if(NOT CMAKE_CXX_FLAGS MATCHES "sanitize" AND NOT RK_SANITIZE)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
  if(DEFINED RK_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION "${RK_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
