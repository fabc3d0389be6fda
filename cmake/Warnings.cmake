# Project-wide warning flags, applied to our own targets through offpath_warnings.
add_library(offpath_warnings INTERFACE)
target_compile_options(offpath_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(OFFPATH_WERROR)
  target_compile_options(offpath_warnings INTERFACE -Werror)
endif()
