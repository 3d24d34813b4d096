include(GoogleTest)

# wuye_test(<name> SOURCES <files...> LIBS <targets...>)
# One GoogleTest binary; every TEST becomes its own ctest entry so that ctest -j spreads them.
function(wuye_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

# wuye_embed_migrations(<target> <component> <dir>)
# Compiles every <dir>/NNN_*.sql into <target> as wuye::MigrationSet <component>Migrations().
# The files are read at configure time; editing or adding one re-runs CMake.
function(wuye_embed_migrations target component dir)
  file(GLOB files CONFIGURE_DEPENDS "${dir}/[0-9][0-9][0-9]_*.sql")
  list(SORT files)
  # Editing a migration re-runs the configure step, which embeds it again.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${files})
  set(body "")
  foreach(f IN LISTS files)
    get_filename_component(fname "${f}" NAME)
    file(READ "${f}" sql)
    string(APPEND body "      {\"${fname}\", R\"wuyesql(${sql})wuyesql\"},\n")
  endforeach()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${component}_migrations.cc")
  set(content "// Generated from ${dir} by wuye_embed_migrations. Do not edit.\n#include \"shared/migrate.h\"\n\nnamespace wuye {\n\nconst MigrationSet& ${component}_migrations() {\n  static const MigrationSet kSet{\"${component}\", {\n${body}  }};\n  return kSet;\n}\n\n}  // namespace wuye\n")
  file(CONFIGURE OUTPUT "${out}" CONTENT "${content}" @ONLY)
  target_sources(${target} PRIVATE "${out}")
endfunction()
