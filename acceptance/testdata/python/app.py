"""A module with one type error, which pyright must report."""


def add(a: int, b: int) -> int:
    return a + b


total: str = add(1, 2)
