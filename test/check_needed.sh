#!/bin/sh
# The shared library may depend only on the C and C++ runtimes: prints its NEEDED entries and fails on any
# other (sanitizer runtimes only in a b_sanitize build). Usage: check_needed.sh LIBRARY [B_SANITIZE]
set -eu

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: $0 LIBRARY [B_SANITIZE]" >&2
    exit 2
fi
sanitize=${2:-none}
if ! command -v readelf >/dev/null 2>&1; then
    echo "readelf is missing: install binutils (tools/run-tests does)" >&2
    exit 1
fi

needed=$(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ -z "$needed" ]; then
    echo "no NEEDED entries found in $1 (not a shared library?)" >&2
    exit 1
fi

status=0
for library in $needed; do
    case "$library" in
        libc.so.* | libstdc++.so.* | libm.so.* | libgcc_s.so.* | ld-linux*.so.*)
            echo "ok: $library" ;;
        libasan.so.* | libubsan.so.* | libtsan.so.* | liblsan.so.*)
            if [ "$sanitize" = none ]; then
                echo "unexpected sanitizer runtime in a build without b_sanitize: $library" >&2
                status=1
            else
                echo "ok: $library (b_sanitize=$sanitize)"
            fi ;;
        *)
            echo "unexpected NEEDED entry: $library" >&2
            status=1 ;;
    esac
done
exit "$status"
