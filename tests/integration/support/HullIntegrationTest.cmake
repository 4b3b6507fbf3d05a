# hull_integration_test(NAME SOURCES ... LIBS ... LABELS ... [TIMEOUT s] [HUGETLB])
# Like hull_test() (tests/CMakeLists.txt), linked with hull_test_support. HUGETLB marks tests
# that may flip the host-global hugetlb controller (support/hugetlb.h): CTest serializes them
# with RESOURCE_LOCK "hugetlb", and the hull_hugetlb fixture's cleanup test runs after them to
# undo what a killed test process could not.
include_guard(GLOBAL)

function(hull_integration_test name)
  cmake_parse_arguments(T "HUGETLB" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE hull_test_support ${T_LIBS}
                        GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    HULL_SOURCE_DIR="${CMAKE_SOURCE_DIR}" HULL_BINARY_DIR="${CMAKE_BINARY_DIR}")
  set(extra_properties)
  if(T_HUGETLB)
    set(extra_properties RESOURCE_LOCK hugetlb FIXTURES_REQUIRED hull_hugetlb)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
               SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
               ${extra_properties})
endfunction()
