"""Program text and names as the exported files can hold them.

chainlens takes a name as the tokenizer's `[^\\W\\d]\\w*` and keeps it as written. Python reads an
identifier differently: it folds it to NFKC first (full-width `ｘ` is `x`, `ﬁ` is `fi`), and
refuses characters such as `²`, `①` or `½` that \\w takes. An export that wrote names as they are
would compute something else (`y = ｘ * 2 + x` uses one variable in Python) or not run at all.
`python_names` gives each name of a program a Python name that Python keeps as written and that
no other name of the script has; `visible` writes program text into a comment (of a Python
script or a DOT file) with no character that would end the comment, break the file or hide text
(NUL, other control characters, lone surrogates, line and paragraph separators, bidi controls).
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable

# Characters escaped in comments: C0 and C1 controls (a NUL breaks the script, \r or \x0b ends
# the comment line for some readers), lone surrogates (not UTF-8), U+2028/9, the byte order mark
# and the bidi controls (they reorder what a reader sees).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# Names Python will not let a script assign.
_UNASSIGNABLE = {"__debug__"}


def visible(text: str) -> str:
    """`text` with every unsafe character written as its escape (\\u0000), one line."""
    return _UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def keeps_name(name: str) -> bool:
    """Whether Python reads `name` as this very identifier (no NFKC folding, no SyntaxError)."""
    return name.isidentifier() and unicodedata.normalize("NFKC", name) == name


def _stem(name: str) -> str:
    """An ASCII identifier close to `name`: its NFKC form's ASCII letters, digits and underscores."""
    folded = unicodedata.normalize("NFKC", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_]", "", folded)
    return stem if stem and not stem[0].isdigit() else "v" + stem


def python_names(names: Iterable[str], reserved: set[str]) -> dict[str, str]:
    """Each name (in order of first appearance) → the name the script gives it. Names Python keeps
    stay as they are; a keyword, a name of the script itself (`reserved`) gets a trailing `_`; a
    name Python would fold or refuse becomes `<its ASCII stem>_u<k>`. Every result is distinct
    from every other and from `reserved`."""
    distinct = list(dict.fromkeys(names))
    kept = {name for name in distinct if keeps_name(name) and not _clashes(name, reserved)}
    taken = set(kept) | reserved
    given: dict[str, str] = {}
    renamed = 0
    for name in distinct:
        if name in kept:
            given[name] = name
            continue
        if keeps_name(name):  # a keyword or a name the script uses
            candidate = name + "_"
        else:
            renamed += 1
            candidate = f"{_stem(name)}_u{renamed}"
        while candidate in taken or _clashes(candidate, reserved):
            candidate += "_"
        taken.add(candidate)
        given[name] = candidate
    return given


def _clashes(name: str, reserved: set[str]) -> bool:
    return name in reserved or keyword.iskeyword(name) or name in _UNASSIGNABLE


def cut(text: str, limit: int) -> str:
    """`text`, or its first limit − 1 characters and an ellipsis when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
