set -f; args=() contexts=() artifacts=() join=()  # no file globs: layout-<key>--* names artifacts
hand_over() {  # arg|context NAME=REF, REF the input call's `ref` (a digest), else its layouts' artifacts (layout-<key>--...)
  local name=${2%%=*} key dir source context
  local ref=${2#"$name="}
  if [ "$PUSH" = true ]; then
    [[ $ref == *@sha256:* ]] || { echo "::error title=Input not tagged::$name: got '$ref', not a digest"; exit 1; }
    source=docker-image://${ref,,}
  else  # the layout of the input's leg that built every platform, else this leg's, else of every leg, joined
    [[ $ref == layout-*--* ]] || { echo "::error title=Input not handed over::$name: got '$ref', no layout"; exit 1; }
    key=${ref#layout-} key=${key%--*}
    if [[ $ref == *--all ]]; then dir=$key--all; elif [[ $PLATFORMS != *,* ]]; then dir=$key--${PLATFORMS//\//-}
    else dir=joined-$key join+=("$key"); fi
    artifacts+=("layout-${dir/#joined-$key/$key--*}") source=oci-layout://$RUNNER_TEMP/base/$dir
  fi
  if [ "$1" = context ]; then contexts+=("$name=$source")
  elif [ "$PUSH" = true ]; then args+=("$name=${ref,,}")
  else  # FROM ${ARG} names a build context holding the layout (a name no registry image has)
    context=${name,,} context=this-run-${context//_/-}-layout
    args+=("$name=$context") contexts+=("$context=$source")
  fi
}
for line in ${ARGS:-}; do hand_over arg "$line"; done
for line in ${CONTEXTS:-}; do hand_over context "$line"; done
pattern=$(IFS=,; echo "${artifacts[*]}") && [ "${#artifacts[@]}" -lt 2 ] || pattern="{$pattern}"
printf 'args<<EOF\n%s\nEOF\ncontexts<<EOF\n%s\nEOF\npattern=%s\njoin=%s\n' "$(printf '%s\n' "${args[@]}")" \
  "$(printf '%s\n' "${contexts[@]}")" "$pattern" "${join[*]}" >> "$GITHUB_OUTPUT"
