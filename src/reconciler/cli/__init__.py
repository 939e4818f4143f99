"""The command line (docs/cli.md): the group (`app`), the commands (`commands/`), the error boundary
(`boundary`), and the renderers of everything printed."""
