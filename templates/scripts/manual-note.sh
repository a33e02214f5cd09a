set -f; for pattern in $PUBLISHING_REFS; do [[ $GITHUB_REF =~ ${pattern#"!"} ]] && verdict=${pattern::1}; done  # the last match decides
[[ $PUSH == true ]] || { echo "::notice title=Build only::$GITHUB_REF matches none of $PUBLISHING_REFS: this run pushes nothing"; exit; }
[[ ${verdict-} == ^ ]] || { echo "::error title=Not a publishing ref::$GITHUB_REF matches none of $PUBLISHING_REFS (with its case)"; exit 1; }
