"""Go's regexp syntax (RE2), far enough to give the error regexp.Compile gives a rule's path; see
regexp/syntax/parse.go."""

from __future__ import annotations

import re

TOKEN = re.compile(
    r"""
    (?P<quote>\\Q.*?(?:\\E|\Z))
  | (?P<escape>\\.?)
  | (?P<class>\[)
  | (?P<open>\((?:\?[^)]?)?)
  | (?P<close>\))
  | (?P<bar>\|)
  | (?P<count>\{(?:0|[1-9][0-9]*)(?:,(?:0|[1-9][0-9]*)?)?\})
  | (?P<op>[*+?])
  | (?P<char>.)
    """,
    re.VERBOSE | re.DOTALL,
)
SIMPLE_ESCAPES = set("AbBzdDsSwWafnrtv")
POSIX_NAMES = "alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit".split()
CATEGORIES = set(
    "C Cc Cf Cn Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split()
)


def go_regexp_error(pattern: str) -> str | None:
    """The error Go's regexp.Compile gives ``pattern``, or None; see regexp/syntax/parse.go."""
    try:
        GoPattern(pattern).walk()
    except ValueError as error:
        return str(error)
    return None


class GoPattern:
    def __init__(self, text: str) -> None:
        self.text = text
        self.groups: list[list] = [[]]  # per open group: its items, each (count or None, inner items)
        self.operand = False  # something a quantifier could apply to is last
        self.quantified = False  # the last token was a quantifier

    def walk(self) -> None:
        at = 0
        while at < len(self.text):
            token = TOKEN.match(self.text, at)
            kind, value = token.lastgroup, token.group()
            at = token.end()
            quantifier = False
            if kind == "quote":
                if len(value) > 2 + (2 if value.endswith("\\E") else 0):
                    self.add()
            elif kind == "escape":
                at = self.escape(at - len(value))
            elif kind == "class":
                at = self.char_class(at - 1)
                self.add()
            elif kind == "open":
                at = self.group(at - len(value))
            elif kind == "close":
                if len(self.groups) == 1:
                    raise ValueError(f"unexpected ): `{self.text}`")
                inner = self.groups.pop()
                self.add((None, inner))
            elif kind == "bar":
                self.operand = False
            elif kind in ("op", "count"):
                if self.text.startswith("?", at):
                    at += 1
                if self.quantified:
                    raise ValueError("invalid nested repetition operator")
                if not self.operand:
                    raise ValueError(f"missing argument to repetition operator: `{value}`")
                self.quantify(value)
                quantifier = True
            else:
                self.add()
            self.quantified = quantifier
        if len(self.groups) > 1:
            raise ValueError(f"missing closing ): `{self.text}`")

    def add(self, item=(None, [])) -> None:
        self.groups[-1].append(item)
        self.operand = True

    def quantify(self, value: str) -> None:
        if value.startswith("{"):
            numbers = value[1:-1].split(",")
            low = int(numbers[0])
            high = low if len(numbers) == 1 else (int(numbers[1]) if numbers[1] else -1)
            if low > 1000 or high > 1000 or (high != -1 and low > high):
                raise ValueError(f"invalid repeat count: `{value}`")
            item = ((low, high), [self.groups[-1].pop()])
            if (low >= 2 or high >= 2) and copies(item) > 1000:
                raise ValueError(f"invalid repeat count: `{value}`")
        else:
            item = (None, [self.groups[-1].pop()])
        self.groups[-1].append(item)

    def group(self, at: int) -> int:
        text = self.text
        if len(self.groups) >= 1000:  # regexp/syntax maxHeight: a group inside 999 others is 1000 deep
            raise ValueError(f"expression nests too deeply: `{text}`")
        named = re.compile(r"\(\?P?<([^>]*)>").match(text, at)
        capture = text.startswith("(?P<", at) and len(text) - at > 4 or text.startswith("(?<", at) and len(text) - at > 3
        if named and capture:
            if not re.fullmatch(r"[A-Za-z0-9_]+", named.group(1)):
                raise ValueError(f"invalid named capture: `{named.group()}`")
            self.groups.append([])
            self.operand = False
            return named.end()
        if capture:
            raise ValueError(f"invalid named capture: `{text[at:]}`")
        if not text.startswith("(?", at):
            self.groups.append([])
            self.operand = False
            return at + 1
        flags = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])").match(text, at)
        if not flags or (flags.group(2) is not None and flags.group(2) == ""):
            raise ValueError("invalid or unsupported Perl syntax")
        if flags.group(3) == ":":
            self.groups.append([])
            self.operand = False
        return flags.end()

    def escape(self, at: int) -> int:
        text = self.text
        if at + 1 >= len(text):
            raise ValueError("trailing backslash at end of expression: ``")
        letter = text[at + 1]
        if letter in "pP":
            end = self.unicode_name(at)
            self.add()
            return end
        if letter in SIMPLE_ESCAPES:
            self.add()
            return at + 2
        end = self.plain_escape(at)
        self.add()
        return end

    def plain_escape(self, at: int) -> int:
        """One escaped character (octal, \\xHH, \\x{H..}, C escape, punctuation); the index after it."""
        text = self.text
        if at + 1 >= len(text):
            raise ValueError("trailing backslash at end of expression: ``")
        rest = text[at + 1 :]
        for form in (r"0[0-7]{0,2}", r"[1-7][0-7]{1,2}", r"x[0-9A-Fa-f]{2}", r"x\{[0-9A-Fa-f]+\}", r"[afnrtv]"):
            found = re.match(form, rest)
            if found:
                if form.startswith(r"x\{") and int(found.group()[2:-1], 16) > 0x10FFFF:
                    break
                return at + 1 + found.end()
        if rest[0].isascii() and not rest[0].isalnum():
            return at + 2
        raise ValueError(f"invalid escape sequence: `\\{rest[0]}`")

    def unicode_name(self, at: int) -> int:
        text = self.text
        if text.startswith("{", at + 2):
            close = text.find("}", at)
            if close == -1:
                raise ValueError(f"invalid character class range: `{text[at:]}`")
            name, end = text[at + 3 : close], close + 1
        else:
            name, end = text[at + 2 : at + 3], at + 3
        name = name.removeprefix("^")
        loose = re.sub(r"[-_ ]", "", name).capitalize()
        known = loose in ("Any", "Assigned", "Ascii", "Lc") or loose in CATEGORIES
        if not known and not (len(loose) > 2 and loose.isascii() and loose.isalpha()):
            raise ValueError(f"invalid character class range: `{text[at:end]}`")
        return end

    def char_class(self, start: int) -> int:
        """A [...] class; returns the index after its `]`."""
        text, at = self.text, start + 1
        if text.startswith("^", at):
            at += 1
        members = 0
        while members == 0 or at >= len(text) or text[at] != "]":
            if at >= len(text):
                raise ValueError(f"missing closing ]: `{text[start:]}`")
            members += 1
            posix = re.compile(r"\[:(.*?):\]", re.DOTALL).match(text, at)
            if posix:
                if posix.group(1).removeprefix("^") not in POSIX_NAMES:
                    raise ValueError(f"invalid character class range: `{posix.group()}`")
                at = posix.end()
                continue
            if text.startswith("\\", at) and text[at + 1 : at + 2] in ("p", "P"):
                at = self.unicode_name(at)
                continue
            if text.startswith("\\", at) and text[at + 1 : at + 2] in ("d", "D", "s", "S", "w", "W"):
                at += 2
                continue
            low, at = self.class_char(at, start)
            if text.startswith("-", at) and at + 1 < len(text) and text[at + 1] != "]":
                high, at = self.class_char(at + 1, start)
                if high < low:
                    raise ValueError("invalid character class range")
        return at + 1

    def class_char(self, at: int, start: int) -> tuple[int, int]:
        text = self.text
        if at >= len(text):
            raise ValueError(f"missing closing ]: `{text[start:]}`")
        if text[at] != "\\":
            return ord(text[at]), at + 1
        end = self.plain_escape(at)
        body = text[at + 1 : end]
        if body[0] == "x":
            return int(body.strip("x{}"), 16), end
        if body[0] in "01234567":
            return int(body, 8), end
        return ord({"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}.get(body, body)), end


def copies(item) -> int:
    """The most copies of an innermost part that nested counted repeats make (walked without recursion)."""
    most, pending = 1, [(item, 1)]
    while pending:
        (count, inner), product = pending.pop()
        if count is not None:
            low, high = count
            times = low if high == -1 else high
            if times == 0:
                continue
            product *= times
        most = max(most, product)
        pending.extend((child, product) for child in inner)
    return most
