"""One module per command: ``main(opts, **args) -> exit status``; imported only when used."""
