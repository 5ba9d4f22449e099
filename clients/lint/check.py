"""Judges the JSON reports of `redocly lint` and `spectral lint` against kept-warnings.txt.

Usage: python3 check.py REDOCLY_JSON SPECTRAL_JSON KEPT_WARNINGS_TXT

Prints every finding, then one line `N errors, M warnings kept`. Exits 1 when there is an error,
or a warning that kept-warnings.txt does not list. Standard library only.
"""

import json
import sys


def pointer(path):
    """A JSON pointer (`#/a/b~1c`) from Spectral's list of path segments."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def findings(redocly_json, spectral_json):
    """(tool, rule, pointer, is_error, message) for every problem both tools report."""
    with open(redocly_json, encoding="utf-8") as file:
        redocly = json.load(file)
    for problem in redocly["problems"]:
        location = problem["location"][0] if problem["location"] else {}
        yield (
            "redocly",
            problem["ruleId"],
            location.get("pointer", "#"),
            problem["severity"] == "error",
            problem["message"],
        )
    with open(spectral_json, encoding="utf-8") as file:
        spectral = json.load(file)
    for problem in spectral:
        # Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
        yield (
            "spectral",
            problem["code"],
            pointer(problem["path"]),
            problem["severity"] == 0,
            problem["message"],
        )


def kept(kept_txt):
    """The (tool, rule, pointer) triples that kept-warnings.txt lists."""
    with open(kept_txt, encoding="utf-8") as file:
        for line in file:
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith("#"):
                tool, rule, where = line.split()
                yield (tool, rule, where)


def main(redocly_json, spectral_json, kept_txt):
    allowed = set(kept(kept_txt))
    errors = unexpected = warnings = 0
    seen = set()
    for tool, rule, where, is_error, message in findings(redocly_json, spectral_json):
        key = (tool, rule, where)
        seen.add(key)
        if is_error:
            errors += 1
            verdict = "ERROR"
        elif key in allowed:
            warnings += 1
            verdict = "kept warning"
        else:
            unexpected += 1
            verdict = "NEW WARNING (fix it, or keep it in kept-warnings.txt with a reason)"
        print(f"{tool}: {verdict}: {rule} at {where}: {message}")
    for tool, rule, where in sorted(allowed - seen):
        print(f"{tool}: note: kept warning {rule} at {where} no longer occurs; drop it from the list")
    print(f"{errors} errors, {warnings} warnings kept, {unexpected} new warnings")
    return 1 if errors or unexpected else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
