#!/usr/bin/env bash
# expect_exit.sh CODE CMD...: run CMD, pass its stdout/stderr through, and fail
# unless it exited with exactly CODE.
want=$1
shift
"$@"
got=$?
if [[ $got -ne $want ]]; then
  echo "expect_exit: '$*' exited $got, expected $want" >&2
  exit 1
fi
exit 0
