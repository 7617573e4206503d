"""The one place errors become exit codes: norn's errors by their code, a refused user file as bad
input, Ctrl-C as 130, and anything else (a bug) left to show its traceback."""

import pytest

from norn.cli.exits import Exit, InterruptedAtPrompt, handled
from norn.errors import StepFailed, UsageError


def exit_code_of(exc: BaseException) -> int:
    with pytest.raises(SystemExit) as raised:
        with handled(debug=False):
            raise exc
    return raised.value.code


def test_norn_errors_exit_with_their_code_and_say_why(capsys):
    assert exit_code_of(UsageError("bad flag", hint="try another")) == Exit.USAGE
    assert capsys.readouterr().err == "error: bad flag\nhint: try another\n"


def test_a_refused_file_of_the_users_is_bad_input(capsys):
    assert exit_code_of(PermissionError(13, "Permission denied", "/apps/web")) == Exit.USAGE
    assert "error: /apps/web: Permission denied" in capsys.readouterr().err


def test_ctrl_c_exits_130_and_says_how_to_resume(capsys):
    assert exit_code_of(KeyboardInterrupt()) == Exit.INTERRUPTED
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert exit_code_of(InterruptedAtPrompt("interrupted at the confirmation")) == Exit.INTERRUPTED


def test_a_failed_step_adds_only_the_hint_to_resume(capsys):
    assert exit_code_of(StepFailed("create-deployment", "boom")) == Exit.STEP_FAILED
    assert capsys.readouterr().err == "hint: fix the cause, then rerun the same command to resume from create-deployment\n"


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        with handled(debug=False):
            1 / 0


@pytest.mark.parametrize("exc, said", [
    (StepFailed("create-service", "boom"),
     "hint: fix the cause, then run norn forge web without --force to resume from create-service\n"),
    (KeyboardInterrupt(), "interrupted; run norn forge web without --force to resume\n"),
])
def test_after_a_forced_forge_the_way_on_is_the_forge_without_force(capsys, exc, said):
    """forge --force passes how to resume: rerunning it would tear the app down again."""
    with pytest.raises(SystemExit):
        with handled(debug=False, resume="run norn forge web without --force"):
            raise exc
    assert capsys.readouterr().err == said


def test_an_unknown_app_exits_1_as_kubectl_does_for_a_name_it_does_not_find(capsys):
    from norn.cli.exits import UnknownApp

    assert exit_code_of(UnknownApp("no app named nosuch", hint="did you mean web?")) == 1
    assert capsys.readouterr().err == "error: no app named nosuch\nhint: did you mean web?\n"
