def gelu(x):
    raise ValueError("shape mismatch in my gelu")
