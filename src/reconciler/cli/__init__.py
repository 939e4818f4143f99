"""The command line (docs/cli.md): the commands (`main`), the error boundary (`boundary`), what is printed."""
