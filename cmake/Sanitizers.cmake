# OFFPATH_SANITIZE=ON builds everything (ours and llhttp) with ASan + UBSan.
if(OFFPATH_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
