# CMake helpers for rootlesskit driver plugins. The same file serves the plugins of this tree
# (included by the top-level CMakeLists.txt) and third parties (installed with the
# RootlessKitPlugin package, whose config file includes it), so that every plugin is built with
# the same flags.
#
# rootlesskit_add_plugin(<name> KIND network|port SOURCES <files>...
#                        [LIBRARIES <libraries>...] [INSTALL_DESTINATION <dir>] [NO_INSTALL])
#
#   Builds rkp-<net|port>-<name>.so as a MODULE against RootlessKit::PluginSDK: C and C++ symbols
#   hidden, inline functions hidden, and linked with the version script rkp-plugin.map (beside
#   this file), so that rkp_plugin_entry is the only symbol the module exports, and with -z defs
#   so that a symbol missing at link time fails the build (a plugin can use nothing from the host
#   program: every service comes through rkp_host). The target is named like the file,
#   rkp-<net|port>-<name>.
#
#   Install destination, first that applies: INSTALL_DESTINATION; in this tree, the plugin
#   directory relative to the install prefix (RK_PLUGIN_INSTALL_RELDIR); out of tree, the plugin
#   directory of the rootlesskit installation the package was found in
#   (RootlessKitPlugin_PLUGIN_DIR), which is where that rootlesskit loads plugins from without
#   ROOTLESSKIT_PLUGIN_PATH. NO_INSTALL adds no install rule.
#
#   In this tree the module is written to RK_PLUGIN_BUILD_DIR, where a rootlesskit running from
#   the build tree finds it.
#
#   Under the sanitizers (RK_SANITIZE, or -fsanitize in the compiler flags) the module is linked
#   without -z defs: the sanitizer runtimes resolve their symbols in the executable.
set(RK_PLUGIN_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/rkp-plugin.map")
function(rootlesskit_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "KIND;INSTALL_DESTINATION" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_KIND MATCHES "^(network|port)$")
    message(FATAL_ERROR "rootlesskit_add_plugin(${name}): KIND must be network or port")
  endif()
  if(NOT name MATCHES "^[a-z0-9-]+$")
    message(FATAL_ERROR "rootlesskit_add_plugin(${name}): the name must be made of [a-z0-9-]")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "rootlesskit_add_plugin(${name}): SOURCES is required")
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
  # Beside this file; the variable set when it was included serves CMake before 3.17.
  set(version_script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/rkp-plugin.map")
  if(NOT CMAKE_CURRENT_FUNCTION_LIST_DIR)
    set(version_script "${RK_PLUGIN_VERSION_SCRIPT}")
  endif()
  target_link_options(${target} PRIVATE "LINKER:--version-script=${version_script}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${version_script}")
  # The sanitizer runtimes resolve their symbols in the executable, which -z defs forbids.
  if(NOT "${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS}" MATCHES "sanitize" AND NOT RK_SANITIZE)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()

  if(ARG_NO_INSTALL)
    return()
  endif()
  if(ARG_INSTALL_DESTINATION)
    set(destination "${ARG_INSTALL_DESTINATION}")
  elseif(DEFINED RK_PLUGIN_INSTALL_RELDIR)
    set(destination "${RK_PLUGIN_INSTALL_RELDIR}")
  elseif(DEFINED RootlessKitPlugin_PLUGIN_DIR)
    set(destination "${RootlessKitPlugin_PLUGIN_DIR}")
  else()
    return()
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${destination}")
endfunction()

# rootlesskit_add_conformance_test(<plugin> [NET <network plugin>] [CONFIG <json>]
#                                  [NET_CONFIG <json>] [NAME <test name>]
#                                  [LAUNCHER <command>...])
#
#   Adds a CTest test that runs the conformance suite against <plugin>: a target made by
#   rootlesskit_add_plugin, or the path of a .so. NET names the network plugin a port plugin runs
#   beside (a target or a path; without it the port plugin gets a network namespace with only
#   lo). CONFIG and NET_CONFIG are the JSON config objects given to create(). LAUNCHER is a
#   command the runner is started through (for instance one that drops privileges). The test is
#   named NAME, default conformance.<plugin>. Needs the runner: find the package with
#   COMPONENTS Conformance.
function(rootlesskit_add_conformance_test plugin)
  cmake_parse_arguments(ARG "" "NET;CONFIG;NET_CONFIG;NAME" "LAUNCHER" ${ARGN})
  if(NOT RootlessKitPlugin_CONFORMANCE_RUNNER)
    message(FATAL_ERROR "rootlesskit_add_conformance_test(${plugin}): the conformance runner is "
                        "missing; use find_package(RootlessKitPlugin COMPONENTS Conformance)")
  endif()
  set(name "${ARG_NAME}")
  if(NOT name)
    set(name "conformance.${plugin}")
  endif()

  set(args)
  if(ARG_NET)
    if(TARGET ${ARG_NET})
      list(APPEND args --net "$<TARGET_FILE:${ARG_NET}>")
    else()
      list(APPEND args --net "${ARG_NET}")
    endif()
  endif()
  if(DEFINED ARG_CONFIG)
    list(APPEND args --config "${ARG_CONFIG}")
  endif()
  if(DEFINED ARG_NET_CONFIG)
    list(APPEND args --net-config "${ARG_NET_CONFIG}")
  endif()
  if(TARGET ${plugin})
    set(path "$<TARGET_FILE:${plugin}>")
  else()
    set(path "${plugin}")
  endif()

  add_test(NAME ${name}
    COMMAND ${ARG_LAUNCHER} "${RootlessKitPlugin_CONFORMANCE_RUNNER}" ${args} "${path}")
  set_tests_properties(${name} PROPERTIES LABELS conformance TIMEOUT 300)
endfunction()
