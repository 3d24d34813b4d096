# Reads the one list of services (services.txt at the top) into CMake:
#   WUYE_SERVICES                    the names, in start order
#   WUYE_SERVICE_<name>_PORT         local gRPC port
#   WUYE_SERVICE_<name>_METRICS      local metrics port
#   WUYE_SERVICE_<name>_GRPC         full gRPC service names (a list)
#   WUYE_SERVICE_<name>_READS        the services whose events it consumes (a list)
# and writes them as C++ into <build>/generated/wuye/service_list.h (interface library
# wuye_service_list), for wuyectl and the tests. Editing services.txt re-runs CMake.

set(WUYE_SERVICE_LIST_FILE "${PROJECT_SOURCE_DIR}/services.txt")
set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${WUYE_SERVICE_LIST_FILE}")
file(STRINGS "${WUYE_SERVICE_LIST_FILE}" _wuye_lines)

set(WUYE_SERVICES "")
set(_wuye_ports "")
set(_wuye_entries "")
foreach(line IN LISTS _wuye_lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  string(REGEX REPLACE "[ \t]+" ";" fields "${line}")
  list(LENGTH fields n)
  if(NOT n EQUAL 5)
    message(FATAL_ERROR "services.txt: want 5 columns (name port metrics grpc reads): ${line}")
  endif()
  list(GET fields 0 name)
  list(GET fields 1 port)
  list(GET fields 2 metrics)
  list(GET fields 3 grpc)
  list(GET fields 4 reads)
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "services.txt: bad service name '${name}'")
  endif()
  if(name IN_LIST WUYE_SERVICES)
    message(FATAL_ERROR "services.txt: ${name} is listed twice")
  endif()
  foreach(p IN ITEMS ${port} ${metrics})
    if(NOT p MATCHES "^[1-9][0-9]*$" OR p GREATER 65535)
      message(FATAL_ERROR "services.txt: ${name}: bad port '${p}'")
    endif()
    if(p IN_LIST _wuye_ports)
      message(FATAL_ERROR "services.txt: ${name}: port ${p} is taken by another service")
    endif()
    list(APPEND _wuye_ports ${p})
  endforeach()
  if(NOT grpc MATCHES "^[A-Za-z_][A-Za-z0-9_.]*(,[A-Za-z_][A-Za-z0-9_.]*)*$")
    message(FATAL_ERROR "services.txt: ${name}: bad gRPC service name(s) '${grpc}'")
  endif()
  if(reads STREQUAL "-")
    set(reads "")
  endif()
  string(REPLACE "," ";" grpc_list "${grpc}")
  string(REPLACE "," ";" reads_list "${reads}")
  list(APPEND WUYE_SERVICES ${name})
  set(WUYE_SERVICE_${name}_PORT ${port})
  set(WUYE_SERVICE_${name}_METRICS ${metrics})
  set(WUYE_SERVICE_${name}_GRPC ${grpc_list})
  set(WUYE_SERVICE_${name}_READS ${reads_list})
  string(APPEND _wuye_entries
         "    {\"${name}\", ${port}, ${metrics}, \"${grpc}\", \"${reads}\"},\n")
endforeach()
foreach(name IN LISTS WUYE_SERVICES)
  foreach(read IN LISTS WUYE_SERVICE_${name}_READS)
    if(NOT read IN_LIST WUYE_SERVICES)
      message(FATAL_ERROR "services.txt: ${name} reads '${read}', which is not listed")
    endif()
  endforeach()
endforeach()

file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/generated/wuye/service_list.h" CONTENT
"// Generated from services.txt by cmake/services.cmake. Do not edit.
#pragma once

namespace wuye {

// One service of the suite (services.txt explains the columns and the names that follow
// from `name`).
struct ListedService {
  const char* name;           // \"intake\": binary wuye-intake, database wuye_intake, ...
  int port;                   // local gRPC port, and the binary's default one
  int metrics_port;           // local Prometheus port
  const char* grpc_services;  // full names, comma-separated; the first is the main one
  const char* reads;          // services whose events it consumes, comma-separated
};

// In start order.
inline constexpr ListedService kListedServices[] = {
${_wuye_entries}};

}  // namespace wuye
")
add_library(wuye_service_list INTERFACE)
target_include_directories(wuye_service_list INTERFACE "${PROJECT_BINARY_DIR}/generated")
