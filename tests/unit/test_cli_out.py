"""cli/printing.out, which writes and flushes itself (it called click's echo before `norn status APP` went
without typer): a character the stream cannot encode becomes "?", and a reader that went away is not an error."""

import io

from norn.cli.printing import out


def test_a_character_the_stream_cannot_show_is_replaced_not_a_crash(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(raw, encoding="ascii"))
    out("caf\u00e9 \u2192 web")
    assert raw.getvalue() == b"caf? ? web\n"


def test_stderr_and_no_newline(capsys):
    out("error: no", err=True, nl=False)
    assert capsys.readouterr() == ("", "error: no")


def test_a_closed_pipe_drops_the_output(monkeypatch):
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    dropped = []
    monkeypatch.setattr("sys.stdout", Gone())
    monkeypatch.setattr("norn.output.guard.discard", dropped.append)
    out("web  forged")
    assert len(dropped) == 1
