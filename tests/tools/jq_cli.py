#!/usr/bin/env python3
"""A `jq` for machines without one, for the tests only: the options the generated scripts use, run by
libjq itself through PyPI's `jq` binding (so filters mean exactly what they mean on GitHub's runners,
which ship jq). Options: -r, -c, -e, -n, -j, --arg NAME VALUE, combined short flags (-cr), FILE..."""

import json
import sys
from pathlib import Path

import jq


def main(argv: list[str]) -> int:
    raw = compact = exit_status = null_input = join = False
    args: dict[str, str] = {}
    program = None
    files: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--arg":
            args[argv[i + 1]] = argv[i + 2]
            i += 3
            continue
        if arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
            for flag in arg[1:]:
                if flag not in "rcenj":
                    print(f"jq (test shim): unsupported option -{flag}", file=sys.stderr)
                    return 2
                raw |= flag in "rj"
                compact |= flag == "c"
                exit_status |= flag == "e"
                null_input |= flag == "n"
                join |= flag == "j"
        elif arg.startswith("--"):
            print(f"jq (test shim): unsupported option {arg}", file=sys.stderr)
            return 2
        elif program is None:
            program = arg
        else:
            files.append(arg)
        i += 1
    if program is None:
        print("jq (test shim): no filter", file=sys.stderr)
        return 2
    try:
        compiled = jq.compile(program, args=args)
        if null_input:
            results = compiled.input_value(None).all()
        else:
            text = "".join(Path(f).read_text(encoding="utf-8") for f in files) if files else sys.stdin.read()
            results = compiled.input_text(text, slurp=False).all()
    except ValueError as exc:
        print(f"jq: error: {exc}", file=sys.stderr)
        return 5
    last = None
    for value in results:
        last = value
        if raw and isinstance(value, str):
            out = value
        else:
            out = json.dumps(value, separators=(",", ":")) if compact else json.dumps(value, indent=2)
        sys.stdout.write(out if join else out + "\n")
    if exit_status:
        return 4 if not results else (1 if last in (None, False) else 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
