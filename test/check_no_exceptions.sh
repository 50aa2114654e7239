#!/bin/sh
# In an embedded build (-Dcpp_eh=none -Dcpp_rtti=false) the library must contain no exception or RTTI
# machinery: nothing that throws, catches or runs cleanups while unwinding, and no typeinfo. Lists the
# library's symbols with nm and fails on any of:
#   __cxa_throw, __cxa_allocate_exception, __cxa_rethrow     a throw expression
#   __cxa_begin_catch, __cxa_end_catch, __cxa_call_unexpected a catch handler (or noexcept's terminate path)
#   __gxx_personality_v0, _Unwind_Resume                     unwinding cleanups (destructors run by a throw)
#   __dynamic_cast, __cxa_bad_cast, __cxa_bad_typeid         dynamic_cast and typeid
#   _ZTI*, _ZTS* (typeinfo objects and names, defined or referenced)
# Allowed, and printed: libstdc++'s out-of-line helpers std::__throw_* (_ZSt*__throw_*), which the inline code
# of std::vector, std::string, ... calls on length errors and bad_alloc whatever the flags; in a program
# built without exceptions nothing catches what they throw, so it ends in std::terminate, as an abort would.
# Usage: check_no_exceptions.sh LIBRARY   (a static .a or a shared .so)
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: $0 LIBRARY" >&2
    exit 2
fi
if ! command -v nm >/dev/null 2>&1; then
    echo "nm is missing: install binutils (tools/run-tests does)" >&2
    exit 1
fi
case "$1" in
    *.a) symbols=$(nm -A "$1" 2>/dev/null) ;;
    *) symbols=$(nm -A -D "$1") ;;
esac
if [ -z "$symbols" ]; then
    echo "no symbols in $1" >&2
    exit 1
fi

forbidden=$(printf '%s\n' "$symbols" | grep -E \
    ' (__cxa_throw|__cxa_allocate_exception|__cxa_rethrow|__cxa_begin_catch|__cxa_end_catch|__cxa_call_unexpected|__gxx_personality_v0|_Unwind_Resume|__dynamic_cast|__cxa_bad_cast|__cxa_bad_typeid|_ZTI[^ @]*|_ZTS[^ @]*)(@[^ ]*)?$' || true)
helpers=$(printf '%s\n' "$symbols" | sed -n 's/.* U \(_ZSt[0-9]*__throw_[^ ]*\)$/\1/p' | sort -u)
if [ -n "$helpers" ]; then
    echo "allowed: libstdc++ throw helpers referenced by inline standard library code:"
    printf '  %s\n' $helpers
fi
if [ -n "$forbidden" ]; then
    echo "exception or RTTI machinery in $1:" >&2
    printf '%s\n' "$forbidden" >&2
    exit 1
fi
echo "ok: no throw, catch, unwinding cleanup, dynamic_cast, typeid or typeinfo in $1"
