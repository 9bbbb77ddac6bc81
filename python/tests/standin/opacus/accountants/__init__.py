from .accountant import IAccountant
from .registry import create_accountant, register_accountant

__all__ = ["IAccountant", "create_accountant", "register_accountant"]
