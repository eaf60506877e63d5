"""Action100M corpus pipeline: explode, validate and summarise the nested release rows."""

__version__ = "0.1.0"
