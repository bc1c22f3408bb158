"""The specification: short, readable numpy, one formula docstring per function."""
