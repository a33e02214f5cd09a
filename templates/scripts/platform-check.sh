name="${NAMES%%,*}"
# With attestations the digest is an index holding one image: look at the image, not the index.
actual=$(docker buildx imagetools inspect "${name,,}@$DIGEST" --format '{{json .Image}}' |
  jq -r 'if has("architecture") then . else [.[] | select(.os != "unknown")][0] end
         | [.os, .architecture, (.variant // "" | sub("^v8$"; "") | select(. != ""))] | join("/")')
if [ "$actual" != "${PLATFORM%/v8}" ]; then
  echo "::error title=Wrong platform::the $PLATFORM leg pushed an image built for $actual"
  exit 1
fi
echo "the image is built for $actual"
