"""`norn validate`'s problem lines as the API's objects: ``FILE:LINE: KEY: MESSAGE`` -> {file, line, key, message}.

The lines come from infraspec/problems.py (``problem``: the key path is ``dotted``, so it has no spaces
unless quoted); the file is known, so a colon in its path cannot mislead.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"(\d+): (.*)", re.S)
_NAME = r"(?:[\w-]+|'[^']*'|\"[^\"]*\")"
_KEY = re.compile(rf"((?:{_NAME}|\[\d+\])(?:\[\d+\]|\.{_NAME})*): (.*)", re.S)


def fields(text: str, file: str) -> dict:
    """One problem line of ``file`` as {file, line, key, message}; line and key None when it has none."""
    line, key, rest = None, None, text
    if text.startswith(f"{file}:"):
        rest = text[len(file) + 1:].lstrip()
        if found := _LINE.fullmatch(text[len(file) + 1:]):
            line, rest = int(found.group(1)), found.group(2)
            if keyed := _KEY.fullmatch(rest):
                key, rest = keyed.group(1), keyed.group(2)
    return {"file": file, "line": line, "key": key, "message": rest}
