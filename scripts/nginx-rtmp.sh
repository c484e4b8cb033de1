#!/usr/bin/env bash
# Install nginx with its RTMP module (Debian's nginx and libnginx-mod-rtmp) if missing: the RTMP server that the
# RTMP-out tests broadcast to. Prints the nginx program; the tests start their own nginx with a generated
# configuration (a free loopback port, a temporary prefix) and load the module from nginx's modules path.
# Idempotent.
set -euo pipefail
nginx=${WEIR_NGINX_RTMP:-/usr/sbin/nginx}
if [ ! -x "$nginx" ] || [ ! -e /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
  echo "installing nginx and libnginx-mod-rtmp from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends nginx libnginx-mod-rtmp >&2
fi
echo "$nginx"
