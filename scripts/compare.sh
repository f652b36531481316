# Sourced by the side-by-side benchmark scripts: reading `key=value` lines and printing ratios.
# value OUTPUT KEY: the value of the line `KEY=<value>` in OUTPUT.
value() { echo "$1" | sed -n "s/^$2=//p"; }
# compare_rates LABEL OURS THEIRS KEY...: for each KEY, `<KEY>_samples_per_s` of both outputs and
# their ratio (ours / PyTorch).
compare_rates() {
  local label=$1 ours=$2 theirs=$3 k
  shift 3
  for k in "$@"; do
    awk -v k="$k" -v l="$label" -v r="$(value "$ours" "${k}_samples_per_s")" \
      -v t="$(value "$theirs" "${k}_samples_per_s")" \
      'BEGIN { printf "%-6s %s %9.2f  torch %9.2f samples/s  ratio %.2fx\n", k, l, r, t, r / t }'
  done
}
# parse_flags "NAME..." "$@": each `--name VALUE` of the arguments sets the variable NAME in upper
# case; anything else (or a NAME not listed) is refused (exit 2).
parse_flags() {
  local known=" $1 " name
  shift
  while [ $# -gt 0 ]; do
    name=${1#--}
    if [ "$1" = "$name" ] || [[ "$known" != *" $name "* ]] || [ $# -lt 2 ]; then
      echo "unknown argument $1" >&2
      exit 2
    fi
    printf -v "${name^^}" '%s' "$2"
    shift 2
  done
}
