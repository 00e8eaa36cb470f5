"""The garment localiser: a small network the project trains on its own studio cut-outs.

``cutouts`` cuts catalogue shots on their backdrop, ``composite`` pastes them onto varied
scenes (the training images and their true masks), ``model`` is the network and ``fit``
trains it and writes ``localiser.keras``, which ``dataset.segmentation.localiser`` loads.
"""
