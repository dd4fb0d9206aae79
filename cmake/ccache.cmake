# Compiles through ccache when it is installed (scripts/setup --test installs it). It rewrites
# absolute paths below the source tree into relative ones and leaves the build directory out of
# its key, so another clone of the same commit (CI clones afresh) is served from the cache.
# Included by the main project and by tests/fuzz; SPATE_CCACHE=OFF compiles without it.
option(SPATE_CCACHE "Compile through ccache when it is installed" ON)
if(SPATE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(SPATE_CCACHE_PROGRAM ccache)
  if(SPATE_CCACHE_PROGRAM)
    get_filename_component(spate_ccache_base ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
    set(CMAKE_CXX_COMPILER_LAUNCHER env CCACHE_BASEDIR=${spate_ccache_base} CCACHE_NOHASHDIR=true
        CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
        ${SPATE_CCACHE_PROGRAM})
  endif()
endif()
