#!/usr/bin/env bash
# test_db_basic.sh with the service principal's OAuth machine-to-machine login instead of a
# personal access token (the emulator issues the token and checks it on every request).
DB_AUTH=oauth exec bash "$(dirname -- "${BASH_SOURCE[0]}")/test_db_basic.sh"
