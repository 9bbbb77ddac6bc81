_REGISTRY = {}


def register_accountant(mechanism, accountant):
    _REGISTRY[mechanism] = accountant


def create_accountant(mechanism):
    if mechanism not in _REGISTRY:
        raise ValueError(f"unknown accounting mechanism {mechanism}")
    return _REGISTRY[mechanism]()
