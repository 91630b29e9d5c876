import os


def gelu(x):
    os.abort()
