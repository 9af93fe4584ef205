"""The command-line layer: the typer app (app.py) is the single definition of every command and
flag; dispatch.py parses argv from a table derived from it at build time (derive.py), so the
hot commands never import typer. Each command's behaviour lives in commands/<name>.py."""
