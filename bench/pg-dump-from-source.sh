#!/usr/bin/env bash
# bench/pg-dump-from-source.sh MAJOR [DIR]
#
# Builds pg_dump (with its own libpq) of PostgreSQL MAJOR from Debian's source package into DIR
# (default /tmp/pg-dump-MAJOR), for the pg_dump baseline of `npm run bench:introspect -- --pg MAJOR
# --pg-dump DIR/bin/pg_dump`. pg_dump refuses a server newer than itself, and a machine's
# distribution may ship an older client only (Debian 12 has pg_dump 15): this builds the client
# the comparison needs from the only sources such a machine reaches (Debian's archive). Needs curl,
# xz, bzip2, gcc, make, bison and flex (apt-get install bison flex). About a minute on 2 cores.
# Only pg_dump and libpq are built: configured without readline, ICU, zlib, zstd and lz4, which a
# plain-text `pg_dump -s` does not use.
set -euo pipefail
major=${1:?usage: bench/pg-dump-from-source.sh MAJOR [DIR]}
dir=${2:-/tmp/pg-dump-$major}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkg=postgresql-$major

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The orig tarball of the newest postgresql-MAJOR in Debian (sid first, then the other suites).
orig=
for suite in sid forky trixie bookworm; do
  curl -fsS -m 60 -o "$work/Sources.xz" "$mirror/dists/$suite/main/source/Sources.xz" || continue
  orig=$(xz -dc "$work/Sources.xz" |
    awk -v p="Package: $pkg" '$0==p{f=1} f&&/^Files:/{g=1;next} f&&g&&/orig\.tar/{print $3 " " $1; exit} f&&/^$/{f=0;g=0}') || true # awk stops reading at the first match
  [ -n "$orig" ] && break
done
[ -n "$orig" ] || { echo "no $pkg source package in Debian's archive ($mirror)" >&2; exit 1; }
file=${orig% *}
md5=${orig#* }
echo "building pg_dump from $file into $dir"
curl -fsS -m 600 -o "$work/$file" "$mirror/pool/main/p/$pkg/$file"
echo "$md5  $work/$file" | md5sum -c --quiet
tar -xf "$work/$file" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-*' | head -1)
cd "$src"
./configure --prefix="$dir" --without-readline --without-icu --without-zlib --without-zstd --without-lz4 >"$work/configure.log"
make -C src/backend generated-headers >"$work/make.log"
# Serially: libpq and pg_dump each make libpgport, and two makes of it at once collide.
make -C src/bin/pg_dump >>"$work/make.log"
make -C src/interfaces/libpq install >>"$work/make.log"
make -C src/bin/pg_dump install >>"$work/make.log"
"$dir/bin/pg_dump" --version
