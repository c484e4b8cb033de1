"""The rules of Weir as plain functions and dataclasses, with no I/O."""
