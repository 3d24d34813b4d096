#!/usr/bin/env bash
# Keeps the kernel from handing PORT... to outgoing connections as their local (ephemeral)
# port: the suite's fixed ports (50051…, 51051…, 54329, 63799) lie inside Linux's default
# ephemeral range, so on a busy machine some client's connection can hold one just when a
# server wants to listen on it ("address already in use").
#
#   scripts/reserve-ports.sh PORT...
#
# Adds them to net.ipv4.ip_local_reserved_ports when this process may write it (root);
# otherwise does nothing. Listening on a reserved port works as before. Always exits 0.
file=/proc/sys/net/ipv4/ip_local_reserved_ports
[[ $# -gt 0 && -w "$file" ]] || exit 0
current=$(<"$file") || exit 0
merged=$(printf '%s\n' ${current//,/ } "$@" | grep -E '^[0-9]+(-[0-9]+)?$' | sort -n -u | paste -sd, -)
[[ "$merged" == "$current" ]] || printf '%s\n' "$merged" >"$file" 2>/dev/null || true
exit 0
