"""From the lake to a training set: `a100m select` (subsets and stable splits by video) and
`a100m export` (ActivityNet, dense captions, Charades-STA, steps, hierarchy, JSON Lines,
Parquet). See docs/trainset.md."""
