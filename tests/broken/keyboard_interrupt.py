def gelu(x):
    raise KeyboardInterrupt
