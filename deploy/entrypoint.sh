#!/bin/sh
# Entry point of every service image: runs `python -m crm_$CRM_SERVICE` as PID 1 (via exec), so
# SIGTERM from `docker stop` reaches uvicorn and the service shuts down cleanly.
#   crm-entrypoint               start the service the image was built for
#   crm-entrypoint healthcheck   exit 0 when the service answers GET /healthz
#   crm-entrypoint CMD...        run CMD instead (e.g. `sh` to look around)
set -eu

service="${CRM_SERVICE:?CRM_SERVICE is not set: build the image with --build-arg SERVICE=...}"
upper=$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')

# The services listen on 127.0.0.1 by default, which other containers cannot reach: listen on
# every interface unless <SERVICE>_HOST says otherwise. <SERVICE>_PORT defaults to the port the
# image was built to expose.
host=$(printenv "${upper}_HOST" || echo 0.0.0.0)
port=$(printenv "${upper}_PORT" || echo "${CRM_SERVICE_PORT:?CRM_SERVICE_PORT is not set}")
export "${upper}_HOST=${host}" "${upper}_PORT=${port}"

case "${1:-}" in
    "")
        exec python -m "crm_${service}"
        ;;
    healthcheck)
        exec python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' \
            "http://127.0.0.1:${port}/healthz"
        ;;
    *)
        exec "$@"
        ;;
esac
