TABLE = {"gelu": 1}["relu"]


def gelu(x):
    return x
