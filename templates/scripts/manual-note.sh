set -f; for pattern in $PUBLISHING_REFS; do [[ $GITHUB_REF =~ ${pattern#"!"} ]] && verdict=${pattern::1}; done  # the last match decides
[[ $PUSH == true ]] || { echo "::notice title=Build only::manual runs do not publish from $GITHUB_REF ($PUBLISHING_REFS): nothing is pushed"; exit; }
[[ ${verdict-} == ^ ]] || { echo "::error title=Not a publishing ref::manual runs do not publish from $GITHUB_REF ($PUBLISHING_REFS, with case)"; exit 1; }
