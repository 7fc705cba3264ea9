#!/usr/bin/env bash
# Runs frontier's whole test suite: formatting, vet, and every test with the
# race detector. Installs what the tests need when it is missing (apt).
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
# the power-loss tests mount a FUSE filesystem; they are skipped without /dev/fuse
if [ -e /dev/fuse ] && ! command -v fusermount3 >/dev/null && ! command -v fusermount >/dev/null; then
  need_apt+=(fuse3)
fi
if [ ${#need_apt[@]} -gt 0 ] && [ "${FRONTIER_TEST_NO_INSTALL:-}" = "" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need_apt[*]} (apt)"
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -timeout 20m ./...
