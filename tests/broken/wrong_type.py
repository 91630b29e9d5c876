import math


def gelu(x):
    return [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.flatten().tolist()]
