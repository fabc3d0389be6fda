# Filters and classification flags on the bundled captures (tests/replay/filters.py).
add_test(NAME replay.filters
         COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/filters.py
                 --bin ${OFFPATH_BIN} --dir ${OFFPATH_PCAPS})
set_tests_properties(replay.filters PROPERTIES LABELS replay TIMEOUT 300)
