"""`a100m show`: one video's Tree-of-Captions as an offline page and a PNG (stage.py)."""
