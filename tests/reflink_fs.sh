#!/usr/bin/env bash
# tests/reflink_fs.sh -- a file system whose files can share blocks (XFS made
# with reflink=1) on a loop device, for tests and benchmarks of
# pg_mint.strategy = clone.  Needs root (mount) and xfsprogs.
#
#   tests/reflink_fs.sh mount DIR [SIZE]   image DIR/xfs.img (sparse, default 4G),
#                                           mounted at DIR/mnt, owned by OWNER
#   tests/reflink_fs.sh umount DIR          unmount and remove the image
#
# OWNER (default postgres) gets the mount point.  Prints the mount point.
set -euo pipefail
cmd=${1:?usage: reflink_fs.sh mount|umount DIR [SIZE]}
dir=${2:?usage: reflink_fs.sh mount|umount DIR [SIZE]}
size=${3:-4G}
owner=${OWNER:-postgres}

[ "$(id -u)" = 0 ] || { echo "reflink_fs.sh: needs root (mount)" >&2; exit 2; }
case "$cmd" in
mount)
  if ! command -v mkfs.xfs >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq xfsprogs || { apt-get update -qq && apt-get install -y -qq xfsprogs; }; } >/dev/null
  fi
  mkdir -p "$dir/mnt"
  if ! mountpoint -q "$dir/mnt"; then
    rm -f "$dir/xfs.img"
    truncate -s "$size" "$dir/xfs.img"
    mkfs.xfs -q -f -m reflink=1 "$dir/xfs.img"
    mount -o loop "$dir/xfs.img" "$dir/mnt"
  fi
  chown "$owner" "$dir/mnt"
  chmod 0755 "$dir/mnt"
  echo "$dir/mnt"
  ;;
umount)
  if mountpoint -q "$dir/mnt"; then umount "$dir/mnt"; fi
  rm -f "$dir/xfs.img"
  rmdir "$dir/mnt" 2>/dev/null || true
  ;;
*) echo "usage: reflink_fs.sh mount|umount DIR [SIZE]" >&2; exit 2 ;;
esac
