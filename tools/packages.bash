# ensure_packages GROUP...: install the Debian packages of these groups of
# tools/packages.txt that are missing (sourced). Idempotent and quiet when
# everything is present; installs as root (no sudo); otherwise names what is
# missing and returns 1. An unknown group is an error.
PACKAGES_TXT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/packages.txt

packages_of() {  # GROUP... -> package names, one per line
  local g
  for g in "$@"; do
    awk -v g="$g" '$1 == g { for (i = 2; i <= NF; i++) print $i; found = 1 } END { exit !found }' "$PACKAGES_TXT" ||
      { echo "packages: no group '$g' in $PACKAGES_TXT" >&2; return 1; }
  done
}

ensure_packages() {  # GROUP...
  local pkgs missing
  pkgs=$(packages_of "$@") || return 1
  pkgs=$(sort -u <<< "$pkgs")
  # shellcheck disable=SC2086  # one word per package
  missing=$(comm -23 <(echo "$pkgs") <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $pkgs 2> /dev/null |
    awk '$1 == "ii" { print $2 }' | sort -u))
  [[ -z $missing ]] && return 0
  missing=$(echo $missing)  # one line
  if [[ $(id -u) -ne 0 ]]; then
    echo "packages: missing Debian packages: $missing (run as root to install them)" >&2
    return 1
  fi
  echo "packages: installing $missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  # iperf3 would otherwise start its own server at boot.
  echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections 2> /dev/null || true
  # shellcheck disable=SC2086
  apt-get update -qq > /dev/null && apt-get install -y -qq --no-install-recommends $missing > /dev/null
}
