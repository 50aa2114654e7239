#!/bin/sh
# Checks that the first (or the N-th) ```cpp (or ```LANGUAGE) block of README.md is, line for line, the
# compiled example file.
# Usage: check_readme_example.sh README.md docs/examples/readme_example.cpp [N [LANGUAGE]]
set -eu
readme=$1
example=$2
nth=${3:-1}
language=${4:-cpp}
block=$(awk -v nth="$nth" -v fence="\`\`\`$language" '$0 == fence { seen++; if (seen == nth) inside = 1; next } inside && /^```$/ { exit } inside { print }' "$readme")
if [ -z "$block" ]; then
    echo "no \`\`\`$language block number $nth in $readme" >&2
    exit 1
fi
if ! printf '%s\n' "$block" | diff -u "$example" - >&2; then
    echo "the example in $readme differs from $example (diff above: - file, + README); make them identical" >&2
    exit 1
fi
echo "README example matches $example"
