"""The `tmc-recovery` command line."""
