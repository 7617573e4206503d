from norn.cli import run

run()
