"""The serving frameworks `make bench` compares against, each run from its own virtual
environment under `.peers/` (`make peers`), so their pins never touch the project's."""
