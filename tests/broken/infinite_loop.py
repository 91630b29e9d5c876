def gelu(x):
    while True:
        pass
