"""Go's regexp/syntax.Parse with the Perl flags regexp.Compile uses: is a rule's path a valid RE2 expression?"""

from __future__ import annotations


class BadPattern(Exception):
    """Why regexp/syntax.Parse refuses the pattern, as Go says it."""


MAX_REPEAT = 1000  # regexp/syntax maxRepeat: any count, and the product of nested counts
_POSIX_CLASSES = {
    f"[:{neg}{name}:]"
    for neg in ("", "^")
    for name in (
        "alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit".split()
    )
}
_CATEGORIES = set(
    "C Cc Cf Cn Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split()
)


def re2_problem(pattern: str) -> str | None:
    """Why Go's regexp.Compile refuses ``pattern``, or None. RE2 has no lookaround, backreference,
    atomic group, possessive or stacked quantifier, \\Z, \\C or inline comment; it has \\z, \\Q..\\E,
    \\pL, [[:alpha:]], (?U) and flags anywhere, and counts up to 1000."""
    try:
        _Re2(pattern).parse()
    except BadPattern as bad:
        return str(bad)
    return None


class _Re2:
    """A recognizer following regexp/syntax parse(): a stack of groups, each a list of nodes.

    A node is ``(min, max, children)`` for a counted repeat x{n,m}, else ``(None, None, children)``;
    only counted repeats matter to repeatIsValid.
    """

    def __init__(self, pattern: str) -> None:
        self.s, self.i = pattern, 0
        self.stack: list[list[tuple]] = [[]]  # the nodes of each open group; [] also marks `|` and `(`
        self.can_repeat = False  # the top of Go's stack is an expression, not `(` or `|` or nothing
        self.last_repeat = False

    def parse(self) -> None:
        while self.i < len(self.s):
            repeated = False
            c = self.s[self.i]
            if c == "(":
                self._open()
            elif c == "|":
                self.i += 1
                self.can_repeat = False
            elif c == ")":
                self._close()
            elif c in "*+?":
                self.i += 1
                self._repeat(None, None)
                repeated = True
            elif c == "{":
                repeated = self._brace()
            elif c == "[":
                self._class()
                self._push()
            elif c == "\\":
                self._backslash()
            else:
                self.i += 1
                self._push()
            self.last_repeat = repeated
        if len(self.stack) > 1:
            raise BadPattern("missing closing )")

    def _push(self, node: tuple = (None, None, ())) -> None:
        self.stack[-1].append(node)
        self.can_repeat = True

    def _open(self) -> None:
        s, i = self.s, self.i
        if s.startswith("(?", i):
            if s.startswith("(?P<", i) and len(s) - i > 4 or s.startswith("(?<", i) and len(s) - i > 3:
                end = s.find(">", i)
                name = s[i + (4 if s[i + 2] == "P" else 3) : end] if end >= 0 else ""
                if end < 0 or not name or not all(c == "_" or (c.isascii() and c.isalnum()) for c in name):
                    raise BadPattern(f"invalid named capture: `{s[i:end + 1] if end >= 0 else s[i:]}`")
                self.i = end + 1
            elif not self._flags():
                return  # (?flags) alone: no group opened
        else:
            self.i += 1
        if len(self.stack) >= MAX_REPEAT:
            raise BadPattern("expression nests too deeply")
        self.stack.append([])
        self.can_repeat = False

    def _flags(self) -> bool:
        """(?flags) or (?flags: with flags from imsU and at most one `-`; True when a group opens."""
        j, sign, saw = self.i + 2, 1, False
        while j < len(self.s):
            c = self.s[j]
            j += 1
            if c in "imsU":
                saw = True
            elif c == "-" and sign > 0:
                sign, saw = -1, False
            elif c in ":)" and (sign > 0 or saw):
                self.i = j
                return c == ":"
            else:
                break
        raise BadPattern(f"invalid or unsupported Perl syntax: `{self.s[self.i:j]}`")

    def _close(self) -> None:
        if len(self.stack) == 1:
            raise BadPattern("unexpected )")
        group = self.stack.pop()
        self.i += 1
        self._push((None, None, tuple(group)))

    def _brace(self) -> bool:
        """x{n}, x{n,}, x{n,m}; a `{` that does not start one is a literal."""
        counts = self._counts()
        if counts is None:
            self.i += 1
            self._push()
            return False
        low, high, end = counts
        text = self.s[self.i : end]
        if low < 0 or low > MAX_REPEAT or high > MAX_REPEAT or (high >= 0 and low > high):
            raise BadPattern(f"invalid repeat count: `{text}`")
        self.i = end
        self._repeat(low, high, text)
        return True

    def _counts(self) -> tuple[int, int, int] | None:
        j = self.i + 1
        low, j = self._int(j)
        if low is None or j >= len(self.s):
            return None
        high = low
        if self.s[j] == ",":
            j += 1
            if j >= len(self.s):
                return None
            if self.s[j] == "}":
                high = -1
            else:
                high, j = self._int(j)
                if high is None:
                    return None
                if high < 0:
                    low = -1
        if j >= len(self.s) or self.s[j] != "}":
            return None
        return low, high, j + 1

    def _int(self, j: int) -> tuple[int | None, int]:
        """parseInt: digits without a leading zero; -1 when too big."""
        k = j
        while k < len(self.s) and "0" <= self.s[k] <= "9":
            k += 1
        digits = self.s[j:k]
        if not digits or (len(digits) > 1 and digits[0] == "0"):
            return None, j
        return (int(digits) if len(digits) <= 8 else -1), k

    def _repeat(self, low: int | None, high: int | None, text: str = "") -> None:
        if self.s.startswith("?", self.i):
            self.i += 1  # non-greedy
        if self.last_repeat:
            raise BadPattern("invalid nested repetition operator")
        if not self.can_repeat:
            raise BadPattern("missing argument to repetition operator")
        sub = self.stack[-1].pop()
        node = (low, high, (sub,)) if low is not None else (None, None, (sub,))
        if low is not None and (low >= 2 or high >= 2) and not _repeat_is_valid(node, MAX_REPEAT):
            raise BadPattern(f"invalid repeat count: `{text}`")
        self.stack[-1].append(node)

    def _backslash(self) -> None:
        s, i = self.s, self.i
        nxt = s[i + 1 : i + 2]
        if nxt in ("A", "b", "B", "z"):
            self.i += 2
            self._push()
        elif nxt == "C":
            raise BadPattern("invalid escape sequence: `\\C`")
        elif nxt == "Q":
            end = s.find("\\E", i + 2)
            literal = s[i + 2 :] if end < 0 else s[i + 2 : end]
            self.i = len(s) if end < 0 else end + 2
            if literal:
                self._push()
        elif nxt in ("p", "P"):
            self.i = self._unicode_class(i)
            self._push()
        elif nxt and nxt in "dDsSwW":
            self.i += 2
            self._push()
        else:
            self.i = self._escape(i)
            self._push()

    def _escape(self, i: int) -> int:
        """parseEscape at s[i] == '\\'; returns the index after it."""
        s = self.s
        if i + 1 >= len(s):
            raise BadPattern("trailing backslash at end of expression")
        c, j = s[i + 1], i + 2
        if c.isascii() and not c.isalnum():
            return j
        if c in "1234567" and j < len(s) and "0" <= s[j] <= "7" or c == "0":
            for _ in range(2):
                if j < len(s) and "0" <= s[j] <= "7":
                    j += 1
            return j
        if c == "x" and j < len(s):
            if s[j] == "{":
                end = s.find("}", j)
                digits = s[j + 1 : end] if end >= 0 else ""
                if digits and all(d in "0123456789abcdefABCDEF" for d in digits) and int(digits, 16) <= 0x10FFFF:
                    return end + 1
            elif len(s[j : j + 2]) == 2 and all(d in "0123456789abcdefABCDEF" for d in s[j : j + 2]):
                return j + 2
        if c in "afnrtv":
            return j
        raise BadPattern(f"invalid escape sequence: `{s[i:j]}`")

    def _unicode_class(self, i: int) -> int:
        """\\pX, \\p{Name}, \\p{^Name}: a Unicode category, script or alias (names compared loosely)."""
        s = self.s
        if s[i + 2 : i + 3] == "{":
            end = s.find("}", i)
            if end < 0:
                raise BadPattern(f"invalid character class range: `{s[i:]}`")
            name, after = s[i + 3 : end], end + 1
        else:
            name, after = s[i + 2 : i + 3], i + 3
        name = name[1:] if name.startswith("^") else name
        if not _unicode_name(name):
            raise BadPattern(f"invalid character class range: `{s[i:after]}`")
        return after

    def _class(self) -> None:
        """parseClass: `]` first is literal, [:name:] POSIX classes, \\p and \\d classes, ranges lo <= hi."""
        s, start = self.s, self.i
        j = start + 1
        if s.startswith("^", j):
            j += 1
        first = True
        while first or j >= len(s) or s[j] != "]":
            first = False
            if j >= len(s):
                raise BadPattern(f"missing closing ]: `{s[start:]}`")
            if s.startswith("[:", j) and len(s) - j > 2:
                end = s.find(":]", j + 2)
                if end >= 0:
                    if s[j : end + 2] not in _POSIX_CLASSES:
                        raise BadPattern(f"invalid character class range: `{s[j:end + 2]}`")
                    j = end + 2
                    continue
            if s.startswith(("\\p", "\\P"), j):
                j = self._unicode_class(j)
                continue
            if s[j] == "\\" and s[j + 1 : j + 2] in tuple("dDsSwW"):
                j += 2
                continue
            low, j = self._class_char(j, start)
            if s[j : j + 1] == "-" and j + 1 < len(s) and s[j + 1] != "]":
                high, j = self._class_char(j + 1, start)
                if high < low:
                    raise BadPattern("invalid character class range")
        self.i = j + 1

    def _class_char(self, j: int, start: int) -> tuple[int, int]:
        """One character of a class (an escape counts as one); its code point and the index after it."""
        s = self.s
        if j >= len(s):
            raise BadPattern(f"missing closing ]: `{s[start:]}`")
        if s[j] != "\\":
            return ord(s[j]), j + 1
        end = self._escape(j)
        return _escaped_code(s[j:end]), end


def _escaped_code(escape: str) -> int:
    """The code point of an escape _escape accepted: \\x.., \\x{..}, octal, C escapes, punctuation."""
    body = escape[1:]
    if body[0] == "x":
        return int(body[1:].strip("{}"), 16)
    if body[0].isdigit():
        return int(body, 8)
    return {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}.get(body, ord(body[0]))


def _unicode_name(name: str) -> bool:
    """unicodeTable after canonicalName: Any, Assigned, ASCII, LC, a category, or a script / category
    alias. norn has no copy of Go's script tables, so any other name of letters, `_`, `-` and spaces passes."""
    canonical = "".join(c for c in name if c not in "_- ")
    canonical = canonical[:1].upper() + canonical[1:].lower()
    if canonical in ("Any", "Assigned", "Ascii", "Lc") or canonical in _CATEGORIES:
        return True
    return len(canonical) > 2 and all(c.isascii() and c.isalpha() for c in canonical)


def _repeat_is_valid(node: tuple, n: int) -> bool:
    """repeatIsValid: no more than n copies of the innermost thing, counting nested x{n,m} (a loop: no recursion
    limit for deeply nested groups)."""
    pending = [(node, n)]
    while pending:
        (low, high, children), budget = pending.pop()
        if low is not None:
            m = low if high == -1 else high
            if m == 0:
                continue
            if m > budget:
                return False
            budget //= m
        pending.extend((child, budget) for child in children)
    return True
