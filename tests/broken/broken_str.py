class BrokenMessage(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


def gelu(x):
    raise BrokenMessage()
