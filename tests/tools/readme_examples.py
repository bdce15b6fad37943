#!/usr/bin/env python3
"""Prints the shell examples of README.md, one command per line (continued
lines joined), for tests/cli/readme.bats to run as written.

A ```sh block whose lines start with "$ " is a transcript: those lines are
commands and the others their output, printed as "#> OUTPUT" after the
command so the test can check the output's shape.  Each block starts with a
line "## block".  `make` lines (the set-up at the top) are left to .ci/run,
which runs exactly those."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
    lines = block.replace("\\\n", " ").splitlines()
    transcript = any(line.startswith("$ ") for line in lines)
    print("## block")
    for line in lines:
        if not line.strip():
            continue
        if transcript and not line.startswith("$ "):
            print("#> " + line)
            continue
        command = line[2:] if transcript else line
        if command.startswith("make "):
            continue
        print(command)
