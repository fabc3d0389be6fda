# The exchange record (issue 4): field-level checks on the bundled captures, and every
# record of every bundled and public capture validated against the native JSON Schema
# (the public corpus only where it sits beside the checkout).
set(record_schema_public_dirs)
if(EXISTS ${OFFPATH_SHARED_PCAPS})
  set(record_schema_public_dirs ${OFFPATH_SHARED_PCAPS})
endif()
add_test(NAME replay.record_fields
         COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/record_fields.py
                 --bin ${OFFPATH_BIN} --dir ${OFFPATH_PCAPS} fields)
add_test(NAME replay.record_schema
         COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/record_fields.py
                 --bin ${OFFPATH_BIN} --dir ${OFFPATH_PCAPS}
                 --schema ${PROJECT_SOURCE_DIR}/docs/schema/offpath-1.schema.json
                 schema ${record_schema_public_dirs})
set_tests_properties(replay.record_fields replay.record_schema
                     PROPERTIES LABELS replay TIMEOUT 300)
