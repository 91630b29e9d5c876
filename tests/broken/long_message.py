def gelu(x):
    raise ValueError("shape mismatch: " + "very long detail " * 300_000)
