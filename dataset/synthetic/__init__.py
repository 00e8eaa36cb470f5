"""A deterministic synthetic garment world shared by the demo marketplace and catalogue.

See :mod:`dataset.synthetic.universe` (listings, designs, photos) and
:mod:`dataset.synthetic.garments` (the image renderer).
"""

from dataset.synthetic.universe import DemoUniverse, Design, Listing

__all__ = ["DemoUniverse", "Design", "Listing"]
