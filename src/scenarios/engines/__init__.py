"""Transmission engines behind one daily interface (see :mod:`scenarios.engines.base`)."""
