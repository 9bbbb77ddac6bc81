"""A minimal stand-in for Opacus's accountant API, written for ewtune's tests (Opacus needs
torch, which CI does not install). It has what ewtune.opacus relies on: the abstract
IAccountant interface, the registry (register_accountant / create_accountant) and a
noise-multiplier search driven through `accountant.history`, as Opacus's own helpers do."""
