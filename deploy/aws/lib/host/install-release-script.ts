import { HTTP_PORT } from '../cluster-layout.js';
import { HOST_PATHS, SERVICE_NAME } from './paths.js';

// /usr/local/bin/mom-install-release: installs the release the SSM parameter names,
// restarts the node only if that changed, and (unless told not to) waits for /ready.
// It runs at first boot from the user data and, on later releases, through SSM Run
// Command from `make aws-rollout`, one node at a time. Being written by the user data,
// it is the same for every release.

/** The host paths the installer touches; tests point them into a scratch directory. */
export type InstallReleasePaths = Record<'hostEnv' | 'releasesDir' | 'currentRelease' | 'brokerLog', string>;

export function renderInstallReleaseScript(p: InstallReleasePaths = HOST_PATHS): string {
  return `#!/bin/bash
# Usage: mom-install-release [READY_TIMEOUT_SECONDS]   (0: do not wait for /ready)
#        mom-install-release --check   exit 0 if the node runs the wanted release, 3 if not
set -euo pipefail
. ${p.hostEnv}
export AWS_REGION
mode="\${1:-600}"

url=$(aws ssm get-parameter --name "$RELEASE_PARAMETER" --query Parameter.Value --output text)
# CDK names a file asset by its content hash and last extension: s3://<bucket>/<sha256>.gz
case "$url" in
  s3://*/*.gz) ;;
  *) echo "release parameter $RELEASE_PARAMETER does not name an s3://<bucket>/<release>.gz object: $url" >&2; exit 2 ;;
esac
name=$(basename "$url")
name=\${name%.gz}
name=\${name%.tar}
dir=${p.releasesDir}/$name

if [ "$mode" = "--check" ]; then
  current=$(readlink -e ${p.currentRelease} || true)
  if [ "$current" = "$dir" ]; then echo "node $NODE_ID: on release $name"; exit 0; fi
  echo "node $NODE_ID: on release $(basename "\${current:-none}"), wants $name"
  exit 3
fi
ready_timeout="$mode"

if [ ! -f "$dir/.complete" ]; then
  incoming=$(mktemp -d ${p.releasesDir}/.incoming.XXXXXX)
  trap 'rm -rf "$incoming"' EXIT
  aws s3 cp --only-show-errors "$url" "$incoming/release.tar.gz"
  tar -xzf "$incoming/release.tar.gz" -C "$incoming" --no-same-owner
  rm -f "$incoming/release.tar.gz"
  test -f "$incoming/dist/main.js" || { echo "release $name has no dist/main.js" >&2; exit 2; }
  chmod -R a+rX "$incoming"
  touch "$incoming/.complete"
  rm -rf "$dir"
  mv "$incoming" "$dir"
  trap - EXIT
fi

current=$(readlink -e ${p.currentRelease} || true)
if [ "$current" != "$dir" ]; then
  # Atomic switch: the unit always sees a whole release.
  ln -sfn "$dir" ${p.currentRelease}.next
  mv -T ${p.currentRelease}.next ${p.currentRelease}
  echo "node $NODE_ID: switching to release $name (was \${current:-none})"
  systemctl restart ${SERVICE_NAME}
else
  echo "node $NODE_ID: release $name already installed"
  systemctl start ${SERVICE_NAME}
fi

# Keep the current release and the two newest others, for a quick manual rollback.
# (grep finds nothing while there is a single release: not an error under pipefail.)
ls -1dt ${p.releasesDir}/*/ 2>/dev/null | sed 's:/$::' | { grep -vxF "$dir" || true; } | tail -n +3 | xargs -r rm -rf

if [ "$ready_timeout" -gt 0 ]; then
  deadline=$((SECONDS + ready_timeout))
  until curl -sf -o /dev/null "http://127.0.0.1:\${HTTP_PORT:-${HTTP_PORT}}/ready"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "node $NODE_ID: not ready \${ready_timeout}s after installing release $name" >&2
      systemctl --no-pager status ${SERVICE_NAME} >&2 || true
      tail -n 30 ${p.brokerLog} >&2 || true
      exit 1
    fi
    sleep 2
  done
  echo "node $NODE_ID: ready on release $name"
fi
`;
}
