# A new branch starts from the default branch's cache, which it never writes. Branch names become tag characters.
tagged() { printf '%s' "$1" | sed 's/[^A-Za-z0-9_.-]/-/g; s/^[.-]/_/' | cut -c1-40; }
fallback=$(tagged "$DEFAULT_BRANCH")
own=$(tagged "$BRANCH")
from="" to=""
if [ -n "$own" ] && [ "$READ" = true ]; then
  from=${CACHE//"{branch}"/$own} other=${CACHE//"{branch}"/$fallback}
  if [ -n "$fallback" ] && [ "$other" != "$from" ]; then from+=$'\n'$other; fi
fi
# Another branch whose name comes out as the default branch's (release/1.x beside release-1.x) never writes it.
if [ -n "$own" ] && [ "$WRITE" = true ] && { [ "$own" != "$fallback" ] || [ "$BRANCH" = "$DEFAULT_BRANCH" ]; }; then
  to="${CACHE//"{branch}"/$own},mode=max,ignore-error=true"
fi
echo "reads: ${from//$'\n'/, }; writes: ${to:-nothing}"
printf 'from<<CACHE_FROM_END\n%s\nCACHE_FROM_END\nto=%s\n' "$from" "$to" >> "$GITHUB_OUTPUT"
