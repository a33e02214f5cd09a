[ -z "${ARG:-}" ] || echo "arg=$ARG=${BASE,,}" >> "$GITHUB_OUTPUT"
[ -z "${CONTEXT:-}" ] || echo "context=$CONTEXT=docker-image://${BASE,,}" >> "$GITHUB_OUTPUT"
