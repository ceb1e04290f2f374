#!/usr/bin/env python3
"""Prints one fenced block of a README: the block under the line naming it.

    readme_blocks.py [--file README] SECTION LABEL

SECTION is a `## ` heading's text ("Getting started"), or "" for the text
before the first one; LABEL is how a line before the block starts
("`src/main.rs`"). README defaults to the repository's README.md. CI builds
crates and TypeScript projects from these blocks, exactly as README shows them.
"""
import pathlib
import sys

args = sys.argv[1:]
path = pathlib.Path(__file__).resolve().parent.parent / "README.md"
if args[:1] == ["--file"]:
    path, args = pathlib.Path(args[1]), args[2:]
section, label = args
lines = path.read_text().splitlines()
if section == "":
    start = 0
else:
    try:
        start = lines.index("## " + section)
    except ValueError:
        sys.exit(f"{path} has no section '## {section}'")
end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
body = lines[start + 1:end]
for i, line in enumerate(body):
    if line.startswith(label):
        fence = next(j for j in range(i + 1, len(body)) if body[j].startswith("```"))
        close = next(j for j in range(fence + 1, len(body)) if body[j] == "```")
        print("\n".join(body[fence + 1:close]))
        break
else:
    sys.exit(f"README's '{section}' has no block under a line starting with {label}")
