# Shell functions the scripts share; source it, do not run it.

# A build directory that another generator made (Makefiles, before spate moved to Ninja)
# cannot be configured for Ninja: forget its cache so that the next configure starts afresh.
forget_non_ninja_cache() {  # DIR
  if [[ -f $1/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$1/CMakeCache.txt"; then
    echo "scripts: $1 was configured for another generator; configuring it again for Ninja"
    rm -rf "$1/CMakeCache.txt" "$1/CMakeFiles"
  fi
}
