"""From a file to plain data, with the line of every key: the YAML reader of the infraspec.

It reads hostile files cheaply: size and file type before reading; anchors, aliases,
merge keys, depth and the count of values as the parser meets them. Repeated keys and
YAML errors become problems in the one-line form of `problems`.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from norn.errors import SpecError
from norn.infraspec.problems import InfraspecInvalid, Loc, one_line, problem

MAX_BYTES = 1 << 20  # an infraspec is a few hundred bytes: a bigger file is refused before it is read

# libyaml's parser when PyYAML was built with it (about 30 times faster: a 1 MiB file in a
# fraction of a second), else PyYAML's own; both give the same events.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAPPING_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQUENCE_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_NULL_TAG = "tag:yaml.org,2002:null"
# An infraspec nests 3 levels and holds a few dozen values; other pipelines' free sections may
# hold more, but not this much. Both bounds keep a hostile file cheap: it is refused part-read.
MAX_DEPTH = 32
MAX_VALUES = 10_000
# No rule reports a key deeper than this (volumes[0].name is 3 deep): deeper lines and texts are not
# kept, which keeps a big free section (deploy: ...) cheap.
NOTED_DEPTH = 3
NO_REUSE = "are not allowed in an infraspec; write the value out where it is used"


class _YamlProblem(Exception):
    def __init__(self, event: yaml.Event, message: str, loc: Loc = ()) -> None:
        super().__init__(message)
        self.line = event.start_mark.line + 1
        self.message = message
        self.loc = loc


class Document:
    """The file's data with, for each key path, its 1-based line and (for scalars) its text.
    A plain class: a dataclass took about 0.5 ms to define on every forge, and nothing compares these."""

    __slots__ = ("data", "lines", "texts", "duplicates")

    def __init__(self, data: Any, lines: dict[Loc, int] | None = None) -> None:
        self.data = data
        self.lines: dict[Loc, int] = {} if lines is None else lines
        self.texts: dict[Loc, str] = {}
        self.duplicates: list[tuple[Loc, int, int]] = []

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest enclosing key when it is absent."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1


def _refuse_reuse(event: yaml.Event, loc: Loc) -> None:
    """Anchors and aliases are refused as the parser meets them, so an alias bomb is never expanded."""
    if isinstance(event, yaml.AliasEvent):
        raise _YamlProblem(event, f"YAML aliases (*{event.anchor}) {NO_REUSE}", loc)
    if getattr(event, "anchor", None) is not None:
        raise _YamlProblem(event, f"YAML anchors (&{event.anchor}) {NO_REUSE}", loc)


class _Builder:
    """Turns the parser's events into plain data, noting lines and duplicate keys on the way.

    Working on events, not on composed nodes, refuses anchors, aliases and deep nesting
    before anything is built. Keys are taken as written (`ON:` is the name "ON", not
    YAML 1.1's true).
    """

    def __init__(self, loader: Any, document: Document) -> None:
        self._loader = loader
        self._doc = document
        self._values = 0

    def _next(self, loc: Loc) -> yaml.Event:
        """The next value's or key's first event, refused when it reuses a value or is one too many."""
        event = self._loader.get_event()
        _refuse_reuse(event, loc)
        self._values += 1
        if self._values > MAX_VALUES:
            raise _YamlProblem(event, f"more than {MAX_VALUES} values (keys, items and scalars); "
                                      "an infraspec holds a few dozen", loc)
        return event

    def build(self, loc: Loc, depth: int = 0) -> Any:
        event = self._next(loc)
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar(event, loc)
        if depth >= MAX_DEPTH:
            raise _YamlProblem(event, f"nested more than {MAX_DEPTH} levels deep; an infraspec needs a few", loc)
        is_mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAPPING_TAG if is_mapping else _SEQUENCE_TAG):
            raise _YamlProblem(event, f"the YAML tag {event.tag} is not supported here", loc)
        return self._mapping(loc, depth + 1) if is_mapping else self._sequence(loc, depth + 1)

    @staticmethod
    def _note(where: dict[Loc, Any], loc: Loc, value: Any) -> None:
        if len(loc) <= NOTED_DEPTH:
            where[loc] = value

    def _key(self, loc: Loc) -> str:
        event = self._next(loc)
        if not isinstance(event, yaml.ScalarEvent):
            raise _YamlProblem(event, "a key must be a plain name, not a list or mapping", loc)
        if event.value == "<<" and event.tag is None and event.implicit[0]:
            raise _YamlProblem(event, "YAML merge keys (<<) are not allowed in an infraspec; write the keys out", loc)
        return event.value

    def _mapping(self, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        while not self._loader.check_event(yaml.MappingEndEvent):
            line = self._loader.peek_event().start_mark.line + 1
            name = self._key(loc)
            if name in first_line:
                self._doc.duplicates.append((loc + (name,), line, first_line[name]))
            else:
                first_line[name] = line
            self._note(self._doc.lines, loc + (name,), line)
            result[name] = self.build(loc + (name,), depth)
        self._loader.get_event()
        return result

    def _sequence(self, loc: Loc, depth: int) -> list[Any]:
        items: list[Any] = []
        while not self._loader.check_event(yaml.SequenceEndEvent):
            self._note(self._doc.lines, loc + (len(items),), self._loader.peek_event().start_mark.line + 1)
            items.append(self.build(loc + (len(items),), depth))
        self._loader.get_event()
        return items

    def _scalar(self, event: yaml.ScalarEvent, loc: Loc) -> Any:
        self._note(self._doc.texts, loc, event.value)
        try:
            # construct_document, unlike construct_object, keeps no cache of every node it built
            return self._loader.construct_document(_scalar_node(self._loader, event))
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # int("9" * 5000) raises ValueError
            problem = (getattr(exc, "problem", None) or str(exc)).split(";")[0]  # not Python's advice after ';'
            raise _YamlProblem(event, f"cannot read this value: {problem}", loc) from None


def _scalar_node(loader: Any, event: yaml.ScalarEvent) -> yaml.ScalarNode:
    """The node PyYAML's composer would make of this scalar: its tag resolved as YAML 1.1 does."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)


def _document(loader: Any, name: str) -> Document:
    """The one document of the stream, built; an empty, non-mapping or second document is a problem."""
    loader.get_event()  # the stream's start
    root = None
    if not loader.check_event(yaml.StreamEndEvent):
        loader.get_event()  # the document's start
        root = loader.peek_event()
    if root is None or (isinstance(root, yaml.ScalarEvent) and _scalar_node(loader, root).tag == _NULL_TAG):
        raise InfraspecInvalid([f"{name}:1: the file is empty; an infraspec needs at least app and role"])
    if isinstance(root, (yaml.ScalarEvent, yaml.SequenceStartEvent)):
        kind = "a list" if isinstance(root, yaml.SequenceStartEvent) else repr(root.value)
        raise InfraspecInvalid(
            [problem(name, root.start_mark.line + 1, (), f"the top level must be a mapping of keys "
                                                          f"(app: ..., role: ...), got {kind}")]
        )
    document = Document(data=None, lines={(): root.start_mark.line + 1})
    document.data = _Builder(loader, document).build(())
    loader.get_event()  # the document's end
    if loader.check_event(yaml.DocumentStartEvent):
        line = loader.peek_event().start_mark.line + 1
        raise InfraspecInvalid(
            [f"{name}:{line}: YAML syntax error: a second YAML document starts here; an infraspec is a single document"]
        )
    return document


def compose(text: str, name: str) -> Document:
    """YAML text -> data and lines; syntax, anchors, aliases, depth, emptiness and shape are problems."""
    try:
        loader = _Loader(text)  # its reader refuses control characters at once
    except yaml.YAMLError as exc:
        raise InfraspecInvalid([one_line(f"{name}: YAML error: {exc}")]) from None
    try:
        return _document(loader, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        what = exc.problem or exc.context or "cannot parse"
        if exc.problem and exc.context:
            started = f" started on line {exc.context_mark.line + 1}" if exc.context_mark else ""
            what = f"{exc.problem} ({exc.context}{started})"
        raise InfraspecInvalid([one_line(f"{name}{line}: YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InfraspecInvalid([one_line(f"{name}: YAML error: {exc}")]) from None
    except _YamlProblem as exc:
        raise InfraspecInvalid([problem(name, exc.line, exc.loc, exc.message)]) from None
    finally:
        loader.dispose()


def parse(text: str, name: str) -> Document:
    """`compose`, with repeated keys as problems too."""
    document = compose(text, name)
    if document.duplicates:
        raise InfraspecInvalid(
            [
                problem(name, line, loc, f"duplicate key (first set on line {first}); keep only one")
                for loc, line, first in sorted(document.duplicates, key=lambda dup: dup[1])
            ]
        )
    return document


def read(path: Path) -> str:
    """The file's text; a folder, FIFO or device, a file over MAX_BYTES or not UTF-8 is a SpecError."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):  # opening a FIFO would wait for a writer
            what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
            raise SpecError(f"{path}: cannot read it: it is {what}; an infraspec is a YAML file")
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)  # never more, whatever stat said
        if len(data) > MAX_BYTES:
            raise SpecError(f"{path}: is over 1 MiB; an infraspec is a small YAML file (at most {MAX_BYTES} bytes)")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: cannot read it: not UTF-8 text") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:  # a path no file can have: an embedded NUL
        raise SpecError(f"{str(path)!r}: cannot read it: {exc}") from None
