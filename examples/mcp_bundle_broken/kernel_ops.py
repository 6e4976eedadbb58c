"""Small numerical kernels in plain Python (no third-party packages).

Every kernel takes plain lists of floats and returns floats or lists of floats.
`verifier.py` checks each one against independently computed reference values.
"""

import math


def dot(a, b):
    """Inner product of two equal-length vectors."""
    if len(a) != len(b):
        raise ValueError("dot: vectors differ in length")
    return sum(x * y for x, y in zip(a, b))


def cosine_similarity(a, b):
    """Cosine of the angle between two non-zero vectors, in [-1, 1]."""
    if len(a) != len(b):
        raise ValueError("cosine_similarity: vectors differ in length")
    norm = math.sqrt(sum(x * x for x in a)) + math.sqrt(sum(y * y for y in b))
    if norm == 0.0:
        raise ValueError("cosine_similarity: zero vector")
    return dot(a, b) / norm


def softmax(xs):
    """Softmax of a vector, shifted by its maximum so large inputs do not overflow."""
    if not xs:
        raise ValueError("softmax: empty input")
    top = max(xs)
    exps = [math.exp(x - top) for x in xs]
    total = sum(exps)
    return [e / total for e in exps]


def logsumexp(xs):
    """log(sum(exp(x))) computed stably."""
    if not xs:
        raise ValueError("logsumexp: empty input")
    top = max(xs)
    return top + math.log(sum(math.exp(x - top) for x in xs))


def mean_variance(xs):
    """Mean and population variance in one pass (Welford's algorithm)."""
    if not xs:
        raise ValueError("mean_variance: empty input")
    mean = 0.0
    m2 = 0.0
    for count, x in enumerate(xs, start=1):
        delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
    return mean, m2 / len(xs)


def matvec(matrix, vector):
    """Matrix (list of rows) times vector."""
    return [dot(row, vector) for row in matrix]
