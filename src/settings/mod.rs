//! Settings: one table of keys feeds the INI reader, the command line, `--check` and the man page.
