"""The command line: option parsing and the error boundary (`main`), and everything printed (`render`)."""
