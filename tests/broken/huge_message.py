def gelu(x):
    raise ValueError("x" * (70 * 2**20))
