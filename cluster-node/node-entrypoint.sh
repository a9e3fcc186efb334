#!/bin/sh
# A Swarm node: one Docker Engine inside a container (make cluster-up starts three).
# Without --privileged (which fails on hosts whose capability set lacks CAP_SYS_RESOURCE), /sys and
# the cgroup mounts arrive read-only: remount them read-write (CAP_SYS_ADMIN), then run dockerd.
# The cgroup v1 controllers are bind mounts of this container's cgroup: only their mount flags
# change (remount,bind), and a plain remount would fail as busy. On cgroup v2 there is one mount.
set -eu
mount -o remount,rw /sys 2>/dev/null || true
for mountpoint in /sys/fs/cgroup /sys/fs/cgroup/*; do
  if mountpoint -q "$mountpoint"; then
    mount -o remount,bind,rw "$mountpoint" 2>/dev/null || mount -o remount,rw "$mountpoint" 2>/dev/null \
      || echo "node: could not make $mountpoint writable" >&2
  fi
done
# A node killed and started again keeps its disk: its old runtime state (pid files, containerd's
# sockets) names processes that are gone, and dockerd would refuse to start.
rm -rf /var/run/docker.pid /var/run/docker /run/containerd
# Never ask a registry for an image's digest: every image is loaded into the node (no registry here).
export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
# The socket for `docker exec NODE docker ...`, and the API on the node's port 2375, which
# `make cluster-up` publishes on the host's 127.0.0.1 only (the manager's, for the lab's client).
# --tls=false says so explicitly (an unencrypted TCP API is otherwise refused or delayed).
exec dockerd \
  --host unix:///var/run/docker.sock \
  --host tcp://0.0.0.0:2375 --tls=false \
  --exec-opt native.cgroupdriver=cgroupfs \
  --storage-driver overlay2 \
  "$@"
