"""From pydantic's errors to one line per problem, with the line of the key and a likely fix."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from norn.infraspec.model import Infraspec, QuoteIt
from norn.infraspec.problems import InfraspecInvalid, Loc, dotted, problem
from norn.infraspec.rules import Rule, spec_rules
from norn.infraspec.wording import closest, show
from norn.infraspec.yamlread import Document


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside `X | None`, `list[X]` or `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        model = _model_in(arg)
        if model is not None:
            return model
    return None


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if (info.alias or name) == key:
            return info
    return None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Infraspec
    for part in loc:
        if isinstance(part, int):
            continue
        info = _field(model, part) if model is not None else None
        model = _model_in(info.annotation) if info is not None else None
    return model


def _describe(loc: Loc, fallback: str) -> str:
    """What would be valid at `loc`: the field's description, else the keys its mapping takes."""
    parent = _model_at(loc[:-1]) if loc else None
    info = _field(parent, loc[-1]) if parent is not None and isinstance(loc[-1], str) else None
    if info is not None and info.description:
        return info.description
    model = _model_at(loc)
    if model is not None:
        return "a mapping with keys " + ", ".join(_keys(model))
    return fallback


def _unknown_key(loc: Loc) -> tuple[str, str | None]:
    """The message for an unknown key, and the valid key it probably means."""
    model = _model_at(loc[:-1])
    valid = _keys(model) if model is not None else []
    meant = closest(loc[-1], valid)
    if meant:
        return f"unknown key; did you mean {meant!r}?", meant
    return "unknown key; valid keys here are " + ", ".join(valid), None


_MAPPING_ERRORS = {"model_type", "model_attributes_type", "dict_type", "mapping_type"}


class _Found(NamedTuple):  # a NamedTuple: defined in a tenth of a frozen dataclass's time
    loc: Loc
    message: str
    at: Loc
    about: tuple[Loc, ...] = ()  # keys whose absence this is about
    meant: Loc | None = None  # for an unknown key: the valid key it is a typo of


def _from_pydantic(exc: ValidationError, doc: Document) -> list[_Found]:
    found = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        if error["type"] != "extra_forbidden" and len(loc) > 1 and loc[-1] == "[key]":
            loc = loc[:-1]  # pydantic's mark of an error about a mapping key; a key named "[key]" stays
        cause = error.get("ctx", {}).get("error")
        value = error.get("input")
        if isinstance(cause, Rule):
            rule = cause.under(loc)
            found.append(_Found(rule.loc, rule.message, rule.at, rule.about))
            continue
        if isinstance(cause, QuoteIt):
            text = doc.texts.get(loc, "")
            message = f"{cause}: {loc[-1]}: {json.dumps(text)}"
        elif isinstance(cause, Exception):
            message = str(cause)
        elif error["type"] == "missing":
            found.append(_Found(loc, f"required; {_describe(loc, 'a value')}", loc, about=(loc,)))
            continue
        elif error["type"] == "extra_forbidden":
            message, meant = _unknown_key(loc)
            found.append(_Found(loc, message, loc, meant=loc[:-1] + (meant,) if meant else None))
            continue
        elif error["type"] in _MAPPING_ERRORS:
            message = f"must be {_describe(loc, 'a mapping')}, got {show(value)}"
        elif error["type"] == "list_type":
            message = f"must be {_describe(loc, 'a list')}, got {show(value)}"
        else:
            message = error["msg"]
        found.append(_Found(loc, message, loc))
    return found


def validate(doc: Document, name: str) -> Infraspec:
    """The model from the data, or InfraspecInvalid with every problem, sorted by line."""
    try:
        return Infraspec.model_validate(doc.data)
    except ValidationError as exc:
        found = _from_pydantic(exc, doc)
    # A model whose fields failed never ran its rules across keys: run them on the raw data.
    found += [_Found(rule.loc, rule.message, rule.at, rule.about) for rule in spec_rules(doc.data)]
    # `replcas: 2` says "did you mean 'replicas'?"; "replicas: required" would only repeat it.
    meant = {item.meant for item in found if item.meant is not None}
    seen: set[tuple[str, str]] = set()
    lines: list[tuple[int, str]] = []
    for item in found:
        key = (dotted(item.loc), item.message)
        if key not in seen and not meant.intersection(item.about):
            seen.add(key)
            line = doc.line(item.at)
            lines.append((line, problem(name, line, item.loc, item.message)))
    lines.sort(key=lambda pair: pair[0])  # stable: same-line problems keep their order
    raise InfraspecInvalid([text for _, text in lines])
