#!/usr/bin/env bash
# Build cost of a hello world with `#[canstop::main]` against the same with `#[tokio::main]`:
# CPU time (user + sys) of a clean debug build, and of a release rebuild after touching
# main.rs, each variant built RUNS times, interleaved, in fresh target directories.
#
#   benches/build-cost/run.sh [RUNS]        (default 3)
#
# Prints the medians and the ratio canstop / tokio. Uses the registry cache: run once before
# measuring so that downloads are not counted.
set -euo pipefail
runs=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_crate() { # name, dependencies, main
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n%s\n\n[workspace]\n' "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/src/main.rs"
}
make_crate hello-tokio 'tokio = { version = "1", features = ["rt-multi-thread", "macros"] }' \
'#[tokio::main]
async fn main() {
    println!("hello");
}'
make_crate hello-canstop "canstop = { path = \"$root/canstop\" }" \
'#[canstop::main]
async fn main() {
    println!("hello");
}'
cp "$root/Cargo.lock" "$work/hello-canstop/Cargo.lock" 2>/dev/null || true

cpu() { # dir, cargo args...: user+sys seconds of the build
  local dir=$1; shift
  local out
  out=$( { /usr/bin/time -f '%U %S' cargo build -q --manifest-path "$dir/Cargo.toml" "$@" 2>&1 >/dev/null; } 2>&1 | tail -1)
  awk '{printf "%.2f\n", $1 + $2}' <<<"$out"
}

declare -A clean touch
for name in hello-tokio hello-canstop; do
  cargo fetch -q --manifest-path "$work/$name/Cargo.toml"
done
for run in $(seq "$runs"); do
  for name in hello-tokio hello-canstop; do
    rm -rf "$work/$name/target"
    clean[$name]+="$(cpu "$work/$name") "
    cargo build -q --release --manifest-path "$work/$name/Cargo.toml"
    touch "$work/$name/src/main.rs"
    touch[$name]+="$(cpu "$work/$name" --release) "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-16s %14s %20s\n' "program" "clean debug" "release after touch"
for name in hello-tokio hello-canstop; do
  printf '%-16s %13ss %19ss   (runs: clean %s| touch %s)\n' "$name" "$(median "${clean[$name]}")" "$(median "${touch[$name]}")" "${clean[$name]}" "${touch[$name]}"
done
awk -v ct="$(median "${clean[hello-canstop]}")" -v tt="$(median "${clean[hello-tokio]}")" \
    -v cr="$(median "${touch[hello-canstop]}")" -v tr="$(median "${touch[hello-tokio]}")" \
    'BEGIN { printf "canstop / tokio: clean debug %.2fx, release after touch %.2fx\n", ct / tt, cr / tr }'
