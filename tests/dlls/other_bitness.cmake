# The sample extension and filter (isapi/samples/hello.c,
# filters/samples/stamp.c) built for the OTHER bitness than this build:
# i686 in an x86_64 build, x86_64 in an i686 one, into
# <build>/tests/dlls/other_bitness/. test_bitness.py configures them and
# checks that the server refuses them by their PE headers (IH2014, IH3007):
# they are only read, never loaded, so they serve where 32-bit programs
# cannot run. Built by the other MinGW compiler directly: a CMake project
# has one C compiler.
if(CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(IH_OTHER_BITNESS_CC_NAME i686-w64-mingw32-gcc)
else()
  set(IH_OTHER_BITNESS_CC_NAME x86_64-w64-mingw32-gcc)
endif()
find_program(IH_OTHER_BITNESS_CC ${IH_OTHER_BITNESS_CC_NAME})
if(NOT IH_OTHER_BITNESS_CC)
  message(WARNING "${IH_OTHER_BITNESS_CC_NAME} not found: the other-bitness DLLs are not built and "
                  "integration/bitness will fail (Debian: gcc-mingw-w64)")
  return()
endif()
set(IH_OTHER_BITNESS_DIR ${CMAKE_BINARY_DIR}/tests/dlls/other_bitness)
set(IH_OTHER_BITNESS_OUTPUTS)
foreach(sample IN ITEMS isapi/samples/hello filters/samples/stamp)
  get_filename_component(name ${sample} NAME)
  set(out ${IH_OTHER_BITNESS_DIR}/${name}.dll)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${IH_OTHER_BITNESS_DIR}
    COMMAND ${IH_OTHER_BITNESS_CC} -O1 -Wall -Wextra -Werror -shared -static-libgcc -Wl,--kill-at
            -o ${out} ${PROJECT_SOURCE_DIR}/${sample}.c
    DEPENDS ${PROJECT_SOURCE_DIR}/${sample}.c
    COMMENT "Building ${name}.dll for the other bitness (${IH_OTHER_BITNESS_CC_NAME})"
    VERBATIM)
  list(APPEND IH_OTHER_BITNESS_OUTPUTS ${out})
endforeach()
add_custom_target(other_bitness_dlls ALL DEPENDS ${IH_OTHER_BITNESS_OUTPUTS})
