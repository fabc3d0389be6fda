# BPF objects and libbpf skeletons, built from source at build time:
#   vmlinux.h   <- bpftool btf dump file /sys/kernel/btf/vmlinux format c
#   X.bpf.o     <- clang -target bpf -O2 -g (CO-RE, so the object runs on other kernels)
#   X.skel.h    <- bpftool gen skeleton X.bpf.o
# Everything generated stays in the build tree.
#
# offpath_bpf_skeleton(TARGET name SOURCE file.bpf.c SKELETON name DEPENDS headers...)
# defines an INTERFACE library TARGET whose include directory holds <SKELETON>.skel.h;
# linking it orders the build after the skeleton.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
find_program(BPF_LLVM_STRIP NAMES llvm-strip llvm-strip-16 llvm-strip-15 llvm-strip-14)
set(OFFPATH_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
    "Kernel BTF that vmlinux.h is generated from")

if(NOT BPF_CLANG OR NOT BPFTOOL)
  message(FATAL_ERROR "eBPF capture needs clang and bpftool (Debian: clang bpftool); "
                      "or configure with -DOFFPATH_EBPF=OFF")
endif()
if(NOT EXISTS ${OFFPATH_VMLINUX_BTF})
  message(FATAL_ERROR "eBPF capture needs kernel BTF at ${OFFPATH_VMLINUX_BTF} "
                      "(CONFIG_DEBUG_INFO_BTF); set OFFPATH_VMLINUX_BTF or -DOFFPATH_EBPF=OFF")
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

set(BPF_VMLINUX_DIR ${CMAKE_BINARY_DIR}/bpf-gen)
set(BPF_VMLINUX_H ${BPF_VMLINUX_DIR}/vmlinux.h)
if(NOT TARGET offpath_vmlinux_h)
  add_custom_command(
    OUTPUT ${BPF_VMLINUX_H}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${BPF_VMLINUX_DIR}
    COMMAND sh -c "'${BPFTOOL}' btf dump file '${OFFPATH_VMLINUX_BTF}' format c > '${BPF_VMLINUX_H}.tmp'"
    COMMAND ${CMAKE_COMMAND} -E rename ${BPF_VMLINUX_H}.tmp ${BPF_VMLINUX_H}
    COMMENT "Generating vmlinux.h from ${OFFPATH_VMLINUX_BTF}"
    VERBATIM)
  add_custom_target(offpath_vmlinux_h DEPENDS ${BPF_VMLINUX_H})
endif()

function(offpath_bpf_skeleton)
  cmake_parse_arguments(ARG "" "TARGET;SOURCE;SKELETON" "DEPENDS" ${ARGN})
  get_filename_component(src ${ARG_SOURCE} ABSOLUTE)
  get_filename_component(src_dir ${src} DIRECTORY)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(obj ${out_dir}/${ARG_SKELETON}.bpf.o)
  set(skel ${out_dir}/${ARG_SKELETON}.skel.h)
  set(deps)
  foreach(dep ${ARG_DEPENDS})
    get_filename_component(dep_abs ${dep} ABSOLUTE)
    list(APPEND deps ${dep_abs})
  endforeach()

  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Werror -I${BPF_VMLINUX_DIR} -I${src_dir} -c ${src} -o ${obj}.tmp
    # Drop DWARF (BTF stays): a smaller object embedded in the skeleton.
    COMMAND $<IF:$<BOOL:${BPF_LLVM_STRIP}>,${BPF_LLVM_STRIP},true> -g ${obj}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${obj}.tmp ${obj}
    DEPENDS ${src} ${deps} ${BPF_VMLINUX_H}
    COMMENT "Compiling BPF object ${ARG_SKELETON}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "'${BPFTOOL}' gen skeleton '${obj}' name '${ARG_SKELETON}' > '${skel}.tmp'"
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "Generating BPF skeleton ${ARG_SKELETON}.skel.h"
    VERBATIM)
  add_custom_target(${ARG_TARGET}_gen DEPENDS ${skel})
  add_dependencies(${ARG_TARGET}_gen offpath_vmlinux_h)

  add_library(${ARG_TARGET} INTERFACE)
  # SYSTEM: the generated C header is not held to the project's C++ warnings.
  target_include_directories(${ARG_TARGET} SYSTEM INTERFACE ${out_dir} ${src_dir})
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_gen)
endfunction()
