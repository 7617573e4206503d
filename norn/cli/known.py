"""Which apps norn knows: those with a state record or an infraspec. Any other name is refused
with exit 1 and the closest known name, before a lock is taken (so none is left behind)."""

from __future__ import annotations

from pathlib import Path

from norn.cli.exits import UnknownApp

SPEC_NAME = "infraspec.yaml"  # as infraspec.discovery names it; repeated so that a miss costs no pydantic


def check_known(app: str, store, settings, folder: Path) -> None:
    """UnknownApp unless ``app`` has an infraspec; the caller found no state record for it."""
    declared = infraspec_apps(settings.apps_dir, folder)
    if app in declared or (folder / settings.apps_dir / app / SPEC_NAME).is_file():
        return
    import difflib  # here: norn status of a known app never pays for it

    states, _ = store.list()
    close = difflib.get_close_matches(app, sorted({s.app for s in states} | declared), n=1)
    where = folder / settings.apps_dir
    raise UnknownApp(
        f"no app named {app}",
        hint=f"did you mean {close[0]}?" if close else
        f"norn status lists the apps with state; infraspecs are looked for in {where} (NORN_APPS_DIR)",
    )


def infraspec_apps(apps_dir: Path, folder: Path) -> set[str]:
    """The apps the infraspecs norn would find declare; without any, no infraspec module is imported."""
    if not (folder / SPEC_NAME).exists() and not any((folder / apps_dir).glob(f"*/{SPEC_NAME}")):
        return set()
    from norn.infraspec.discovery import declared_apps

    return declared_apps(apps_dir=apps_dir, cwd=folder)
