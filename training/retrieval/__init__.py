"""Street-to-shop search: encode shop images, index them, query with a shopper's photo.

Modules: ``encoder_loading`` (read an exported encoder), ``embed`` (batched encoding and
the combination of task encodings), ``index`` (the index on disk, exact and IVF search),
``metrics`` (top-k accuracy), ``sources`` (dataset manifests and DeepFashion2 folders),
``grid`` (the picture of a query beside its results), ``segment`` (GrabCut of a query),
``report`` (evaluation reports and plots), ``tsne`` (the colour-space plot).
"""
