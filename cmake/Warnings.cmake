# Project-wide warning flags, applied to our own targets through offpath_warnings.
add_library(offpath_warnings INTERFACE)
target_compile_options(offpath_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict positives inside std::string at -O3 (GCC bug 105329).
  # and false -Wmaybe-uninitialized positives through std::optional (GCC bug 105562).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict -Wno-maybe-uninitialized>)
if(OFFPATH_WERROR)
  target_compile_options(offpath_warnings INTERFACE -Werror)
endif()
