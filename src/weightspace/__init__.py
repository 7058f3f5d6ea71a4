"""weightspace: weight-space reparameterizations of neural networks, benchmarked.

A *net* declares the weights it needs (an ordered ``{name: shape}`` spec) and a
pure ``forward(weights, x)``; a *reparameterization* owns the trainable
tensors and returns the weights for that spec. Every tensor carries a leading
seed dimension ``S``: all seeds of an experiment cell train as one batched
computation.
"""

__version__ = "0.1.0"
