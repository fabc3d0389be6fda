# Sharding across worker threads: each capture replayed with --workers 3 must give the
# same set of exchanges as the inline path (--workers 1), in any order.
add_test(NAME replay.workers_bundled
         COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/compare_sets.py
                 --bin ${OFFPATH_BIN} --workers 3 ${OFFPATH_PCAPS})
set_tests_properties(replay.workers_bundled PROPERTIES LABELS replay TIMEOUT 600)
if(EXISTS ${OFFPATH_SHARED_PCAPS})
  add_test(NAME replay.workers_public
           COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/compare_sets.py
                   --bin ${OFFPATH_BIN} --workers 3 ${OFFPATH_SHARED_PCAPS})
  set_tests_properties(replay.workers_public PROPERTIES LABELS replay TIMEOUT 600)
endif()
